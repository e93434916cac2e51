"""The Ray executor: fidelity-scaled training on a Ray cluster (or the embedded local Ray).

One long-lived `SegmentWorker` actor per concurrent slot, with the trial's resources; each
segment is one streaming-generator call on a free actor, so results reach the loop as they
are reported and the orchestration cost per segment is an actor call, not a process start.
A promoted trial resumes from its checkpoint on whichever actor is free, on any node.

Failures are told apart: a trainable that raises fails its trial (traceback in the
journal), while a lost actor or node (`RayActorError`, node death) makes the segment
retryable: the loop re-queues it from the trial's last checkpoint on a replacement actor.
"""
from __future__ import annotations

import time
from collections import deque
from typing import Any

import numpy as np

from orchestrator.executors.base import (
    CheckpointSaved,
    Executor,
    ExecutorEvent,
    Report,
    Segment,
    SegmentDone,
    SegmentFailed,
)
from orchestrator.executors.ray_worker import SegmentWorker, trial_prefix

POLL_SECONDS = 1.0  # longest wait for an event, so the loop can check deadlines and print progress


def trial_seed(seed: int, trial: int) -> int:
    """A trial's own seed, derived from the experiment seed (same trial, same seed on resume)."""
    return int(np.random.SeedSequence([seed, trial]).generate_state(1)[0])


class RayExecutor(Executor):
    """Segments on Ray actors; see the module docstring."""

    checkpoints_every_report = False

    def __init__(self, *, trainable_ref: str, trainable_args: dict[str, Any], base_dir: str, storage: Any,
                 workers: int, ray_options: dict[str, Any], threads: int, use_gpu: bool, seed: int,
                 max_level: float, connection: Any = None, start_time: float = 0.0) -> None:
        import ray

        self._ray = ray
        self.workers = workers
        self.storage = storage
        self.connection = connection
        self.seed = seed
        self.max_level = max_level
        self._offset = float(start_time)
        self._t0 = time.monotonic()
        self._actor_cls = ray.remote(SegmentWorker).options(max_concurrency=2, max_restarts=0, **ray_options)
        self._init_args = (trainable_ref, dict(trainable_args), base_dir, storage.root, threads, use_gpu)
        self._free: deque[int] = deque()  # slots whose actor is placed and idle, oldest first
        self._probes: dict[Any, int] = {}  # readiness probe of a (re)started actor -> slot
        self._gens: dict[Any, tuple[int, int]] = {}  # generator -> (slot, trial)
        self._slot_of: dict[int, int] = {}  # running trial -> slot
        self._discard_later: set[int] = set()  # checkpoints to delete when their segment ends
        self._actors: list[Any] = [None] * workers
        for slot in range(workers):
            self._start_actor(slot)

    def _start_actor(self, slot: int) -> None:
        """(Re)start a slot's actor; the slot takes segments once Ray has placed it.

        After a node loss the cluster may have room for fewer actors than slots: a slot whose
        actor cannot be placed simply stays out of use instead of swallowing a segment.
        """
        actor = self._actor_cls.remote(slot, *self._init_args)
        self._actors[slot] = actor
        self._probes[actor.where.remote()] = slot

    # ------------------------------------------------------------------ interface
    def free_workers(self) -> int:
        self._collect_probes(timeout=0)
        return len(self._free)

    def busy(self) -> int:
        return len(self._gens)

    def starting(self) -> int:
        return len(self._probes)

    def _collect_probes(self, timeout: float) -> None:
        if not self._probes:
            return
        ready, _ = self._ray.wait(list(self._probes), num_returns=len(self._probes), timeout=timeout)
        for ref in ready:
            slot = self._probes.pop(ref)
            try:
                self._ray.get(ref)
            except self._ray.exceptions.RayError:
                self._start_actor(slot)  # died before it was ready: try again
                continue
            self._free.append(slot)

    def launch(self, segment: Segment) -> int:
        slot = self._free.popleft()  # the longest-idle worker: spreads trials over workers and nodes
        payload = {
            "trial": segment.trial, "config": dict(segment.config), "start": segment.start,
            "target": segment.target, "rungs": list(segment.rungs), "seed": trial_seed(self.seed, segment.trial),
            "max_level": self.max_level,
        }
        gen = self._actors[slot].run.remote(payload)
        self._gens[gen] = (slot, segment.trial)
        self._slot_of[segment.trial] = slot
        return slot

    def poll(self, deadline: float | None = None) -> list[ExecutorEvent]:
        if not self._gens and not self._probes:
            return []
        timeout = POLL_SECONDS
        if deadline is not None:
            timeout = max(0.0, min(timeout, deadline - self.now()))
        waitables = list(self._gens) + list(self._probes)
        ready, _ = self._ray.wait(waitables, num_returns=1, timeout=timeout)
        events: list[ExecutorEvent] = []
        for item in ready:
            if item in self._gens:
                event = self._next(item)
                if event is not None:
                    events.append(event)
        self._collect_probes(timeout=0)
        return events

    def _next(self, gen: Any) -> ExecutorEvent | None:
        ray = self._ray
        slot, trial = self._gens[gen]
        now = self.now()
        try:
            item = ray.get(next(gen))
        except StopIteration:
            self._release(gen)
            return SegmentFailed(trial, f"worker {slot} ended the segment without a result", now, retryable=True)
        except ray.exceptions.RayTaskError as err:  # rung's own worker code raised: not the trainable
            self._release(gen)
            return SegmentFailed(trial, f"worker {slot} failed: {err}", now, retryable=False)
        except ray.exceptions.RayError as err:  # the actor, its process or its node is gone
            self._release(gen, free=False)
            self._start_actor(slot)
            first = str(err).strip().splitlines()[0] if str(err).strip() else ""
            return SegmentFailed(trial, f"worker {slot} lost ({type(err).__name__}: {first})", now, retryable=True)
        kind = item[0]
        if kind == "report":
            return Report(trial, item[1], item[2], now)
        if kind == "checkpoint":
            return CheckpointSaved(trial, item[1], self.storage.uri(item[2]), now)
        self._release(gen)
        if kind == "done":
            return SegmentDone(trial, item[1], now, worker=f"{slot}@{item[4]}" if len(item) > 4 else str(slot))
        if kind == "failed":
            return SegmentFailed(trial, item[1], now, retryable=False)
        return None  # "stopped": the loop already ended this segment

    def _release(self, gen: Any, free: bool = True) -> None:
        slot, trial = self._gens.pop(gen)
        if self._slot_of.get(trial) == slot:
            del self._slot_of[trial]
        if trial in self._discard_later:
            self._discard_later.discard(trial)
            self.storage.delete_prefix(trial_prefix(trial))
        if free:
            self._free.append(slot)

    def stop(self, trial: int) -> None:
        slot = self._slot_of.get(trial)
        if slot is not None:
            self._actors[slot].stop.remote(trial)  # the segment ends at its next report

    def discard(self, trial: int) -> None:
        if trial in self._slot_of:  # its segment is still winding down: delete once it ended
            self._discard_later.add(trial)
            return
        self.storage.delete_prefix(trial_prefix(trial))

    def now(self) -> float:
        return self._offset + time.monotonic() - self._t0

    def close(self) -> None:
        for actor in self._actors:
            try:
                if actor is not None:
                    self._ray.kill(actor)
            except Exception:
                pass
        self._actors = []
        if self.connection is not None:
            self.connection.close()
