"""The simulated executor: N virtual workers and a virtual clock over blackbox trainables.

A blackbox ``f(config, resource) -> {metric: value, ..., "elapsed": seconds}`` tells how long
training takes to reach each resource level (as tabulated benchmarks and surrogates such as
YAHPO LCBench do). The simulator schedules each report at the virtual time it would happen
and hands events back in time order, so hundreds of workers are simulated in seconds with
exactly the scheduler, searcher and journal code a real search uses (as Syne Tune's
simulator backend does).

When a blackbox returns no ``elapsed``, one resource unit is taken to cost one second.
"""
from __future__ import annotations

import heapq
import itertools
import traceback
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from orchestrator.executors.base import (
    Executor,
    ExecutorEvent,
    Report,
    Segment,
    SegmentDone,
    SegmentFailed,
    WorkerSlots,
)

Blackbox = Callable[[Mapping[str, Any], Any], Mapping[str, float]]


def _curve(blackbox: Any, config: Mapping[str, Any], levels: Sequence[float]) -> list[Mapping[str, float]]:
    """Evaluate a blackbox at several levels, batched when it offers `curve`."""
    batched = getattr(blackbox, "curve", None)
    if callable(batched):
        return list(batched(config, list(levels)))
    return [blackbox(config, level) for level in levels]


class SimulatedExecutor(Executor):
    """Virtual workers over a blackbox; see the module docstring."""

    def __init__(self, blackbox: Blackbox, workers: int, start_time: float = 0.0,
                 levels: Sequence[float] = ()) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.blackbox = blackbox
        # With a batched `curve`, a trial's whole rung curve is evaluated once, at its first
        # segment, and kept compactly until the trial can go no higher: promotions then cost
        # no blackbox call (a large share of a big simulation's time otherwise).
        self._levels = sorted(levels) if callable(getattr(blackbox, "curve", None)) else []
        self._cache: dict[int, tuple[tuple[str, ...], dict[float, int], np.ndarray]] = {}
        self.workers = workers
        self._slots = WorkerSlots(workers)
        self._clock = float(start_time)
        self._heap: list[tuple[float, int, int, ExecutorEvent]] = []  # (time, order, token, event)
        self._order = itertools.count()
        self._token: dict[int, int] = {}  # trial -> token of its live segment
        self._tokens = itertools.count(1)

    def free_workers(self) -> int:
        return self._slots.free

    def launch(self, segment: Segment) -> int:
        slot = self._slots.take(segment.trial)
        token = next(self._tokens)
        self._token[segment.trial] = token
        now = self._clock
        levels = list(segment.rungs) or [segment.target]
        try:
            query = ([segment.start] if segment.start > 0 else []) + levels
            results = self._evaluate(segment, query)
            base = float(results[0].get("elapsed", segment.start)) if segment.start > 0 else 0.0
            if segment.start > 0:
                results = results[1:]
        except Exception as err:  # the trainable's fault: the trial fails, the search goes on
            detail = "".join(traceback.format_exception_only(type(err), err)).strip()
            self._push(now, token, SegmentFailed(segment.trial, f"blackbox raised {detail}", now))
            return slot
        t = now
        for level, metrics in zip(levels, results):
            elapsed = float(metrics.get("elapsed", level))
            t = max(t, now + elapsed - base)
            self._push(t, token, Report(segment.trial, level, dict(metrics), t))
        self._push(t, token, SegmentDone(segment.trial, levels[-1], t))
        return slot

    def _evaluate(self, segment: Segment, query: list[float]) -> list[Mapping[str, float]]:
        cached = self._cache.get(segment.trial)
        if cached is None:
            if not self._levels or any(q not in self._levels for q in query):
                return _curve(self.blackbox, segment.config, query)
            levels = [level for level in self._levels if level >= query[0]]
            results = _curve(self.blackbox, segment.config, levels)
            keys = tuple(results[0])
            table = np.array([[float(r[k]) for k in keys] for r in results])
            cached = (keys, {level: i for i, level in enumerate(levels)}, table)
            self._cache[segment.trial] = cached
        keys, index, table = cached
        if segment.target >= self._levels[-1]:
            del self._cache[segment.trial]  # the trial can go no higher
        return [dict(zip(keys, table[index[q]].tolist())) for q in query]

    def _push(self, t: float, token: int, event: ExecutorEvent) -> None:
        heapq.heappush(self._heap, (t, next(self._order), token, event))

    def poll(self, deadline: float | None = None) -> list[ExecutorEvent]:
        heap = self._heap
        while heap:
            t, _, token, event = heap[0]
            if deadline is not None and t > deadline:
                self._clock = max(self._clock, deadline)
                return []
            heapq.heappop(heap)
            if self._token.get(event.trial) != token:
                continue  # the segment was stopped: its later events never happen
            self._clock = max(self._clock, t)
            if isinstance(event, (SegmentDone, SegmentFailed)):
                del self._token[event.trial]
                self._slots.release(event.trial)
            return [event]
        return []

    def stop(self, trial: int) -> None:
        self._cache.pop(trial, None)
        if self._token.pop(trial, None) is not None:
            self._slots.release(trial)

    def now(self) -> float:
        return self._clock
