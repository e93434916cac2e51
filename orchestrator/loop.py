"""The event loop: ask the scheduler what runs next, the searcher what to try, hand work to
an executor, and write every event to the journal before acting on it.

One loop serves every executor (simulated or Ray): a free worker triggers a decision
(promotion or new trial), a report triggers a scheduler verdict (continue, pause, stop,
complete). Decisions draw their randomness from ``default_rng([seed, decision_index])`` so a
resumed search makes the same choices it would have made without the interruption.

Resume replays the journal through the same scheduler and searcher methods the live loop
calls (never re-asking the searcher for past decisions); segments that were in flight are
re-queued from their last checkpoint.
"""
from __future__ import annotations

import math
import time as _time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from orchestrator.errors import BadInput, where
from orchestrator.executors.base import CheckpointSaved, Executor, Report, Segment, SegmentDone, SegmentFailed
from orchestrator.experiment import Experiment
from orchestrator.journal import Journal
from orchestrator.rungs import Number
from orchestrator.scheduler import AsyncHyperband, Promote, Start, Verdict
from orchestrator.searchers import Pending, Searcher, make_searcher
from orchestrator.searchers.base import export_state, import_state

MAX_RETRIES = 2  # a segment whose worker died is retried this often before the trial fails


@dataclass
class TrialRecord:
    config: dict[str, Any]
    bracket: int
    level: Number = 0  # highest resource level reported
    checkpoint_level: Number = 0  # the level a re-queued segment restarts from
    checkpoint: str | None = None
    retries: int = 0


@dataclass
class Progress:
    """A snapshot for progress displays."""

    elapsed: float
    trials: int
    running: int
    counts: dict[str, int]
    best: tuple[float, int, Number] | None  # (value, trial, level)
    resource_used: float
    occupancy: dict[Number, int]
    failures: list[str] = field(default_factory=list)  # the latest few
    failure_count: int = 0  # all failures so far


class SearchLoop:
    """Runs one search to its stop condition; see the module docstring."""

    def __init__(self, experiment: Experiment, journal: Journal, executor: Executor,
                 on_progress: Callable[[Progress], None] | None = None, progress_every: float | None = None) -> None:
        self.exp = experiment
        self.journal = journal
        self.executor = executor
        self.ladder = experiment.ladder
        self.rungs = set(self.ladder.levels)
        self.scheduler = AsyncHyperband(self.ladder, experiment.scheduler, experiment.mode)
        self.searcher: Searcher = make_searcher(experiment.searcher, experiment.space, experiment.mode,
                                                experiment.searcher_options, self.ladder.levels)
        self.sign = 1.0 if experiment.mode == "min" else -1.0
        self.trials: dict[int, TrialRecord] = {}
        self.running: dict[int, Segment] = {}
        self._pending: dict[int, Pending] = {}  # what the searcher sees as in flight
        self._in_flight: float = 0  # resource planned by running segments (target - start)
        self.requeue: dict[int, int] = {}  # trial -> attempt number of the segment to relaunch
        self.decisions = 0
        self.resource_used: float = 0
        self.best_by_level: dict[Number, tuple[float, int]] = {}  # rung level -> (signed value, trial)
        self.failures: list[str] = []
        self.on_progress = on_progress
        self.progress_every = progress_every if progress_every is not None else getattr(on_progress, "every", 2.0)
        self.checkpoints_every_report = executor.checkpoints_every_report
        self.max_retries = int(experiment.executor_options.get("max_retries", MAX_RETRIES))
        self.keep_checkpoints = experiment.executor_options.get("keep_checkpoints", "useful")
        self._exhausted = False
        self._metric_checked = False
        self._last_progress = 0.0

    # ================================================================== replay
    def replay(self) -> None:
        """Rebuild scheduler, searcher and loop state from the journal (for resume)."""
        sched, searcher = self.scheduler, self.searcher
        for ev in self.journal.events():
            kind, trial, d = ev.kind, ev.trial, ev.data
            if kind == "trial_created":
                self.trials[trial] = TrialRecord(d["config"], d["bracket"])
                sched.start(trial, d["bracket"], d["target"])
                searcher.register(trial, d["config"])
                self.decisions = max(self.decisions, d["decision"] + 1)
            elif kind == "searcher_state":
                import_state(searcher, d["state"])
            elif kind == "promoted":
                if sched.trials[trial].state == "pausing":
                    # An earlier resume found this trial at its rung with its checkpoint saved and
                    # paused it without a segment_ended event (see the end of this method); the
                    # promotion it then journaled proves the segment had ended.
                    self._end_segment(trial)
                    sched.on_segment_end(trial)
                sched.promote(trial)
                self.decisions = max(self.decisions, d["decision"] + 1)
            elif kind == "segment_started":
                self.requeue.pop(trial, None)
                self._start_segment(self._segment(trial, d["start"], d["target"], d["attempt"]))
            elif kind == "result":
                self._record_result(trial, d["resource"], d["metrics"], replay=True)
            elif kind == "segment_ended":
                self._end_segment(trial)
                sched.on_segment_end(trial)
            elif kind == "checkpoint":
                rec = self.trials[trial]
                rec.checkpoint_level, rec.checkpoint = d["resource"], d.get("path")
            elif kind == "stopped":
                self._end_segment(trial)
            elif kind == "cancelled":
                self._end_segment(trial)
                sched.on_cancelled(trial)
            elif kind == "failed":
                self._end_segment(trial)
                self.requeue.pop(trial, None)
                sched.on_failed(trial)
                searcher.failed(trial)
                self.failures.append(f"trial {trial}: {_last_line(d.get('error', ''))}")
            elif kind == "segment_lost":
                seg = self._end_segment(trial)
                self.trials[trial].retries += 1
                self.requeue[trial] = (seg.attempt if seg else 1) + 1
        # Segments in flight when the previous run ended continue from their last checkpoint.
        for trial, seg in list(self.running.items()):
            self._end_segment(trial)
            state = sched.trials[trial]
            if state.state == "completed":
                continue
            if state.state == "pausing" and self.trials[trial].checkpoint_level >= state.level:
                sched.on_segment_end(trial)  # reached its rung and checkpoint; only the end was not seen
            else:
                self.requeue[trial] = seg.attempt + 1

    # ==================================================================== run
    def run(self) -> str:
        """Drive the search to its stop condition. Returns the final state ('finished')."""
        exp, ex, journal = self.exp, self.executor, self.journal
        deadline = exp.stop.wall_seconds
        while True:
            if deadline is not None and ex.now() >= deadline:
                self._cancel_running("stop.wall_seconds reached")
                break
            launches = self._decide()
            journal.commit()  # write-ahead: results and decisions are durable before they act
            for seg in launches:
                ex.launch(seg)
            if not self.running and not ex.busy() and not (ex.starting() and self._has_work()):
                break
            for event in ex.poll(deadline):
                self._handle(event)
            self._maybe_progress()
        journal.commit()
        self._maybe_progress(force=True)
        return "finished"

    # --------------------------------------------------------------- decisions
    def _may_start_new(self) -> bool:
        trials = self.exp.stop.trials
        return not self._exhausted and (trials is None or len(self.trials) < trials)

    def _budget_left(self) -> bool:
        budget = self.exp.stop.total_resource
        if budget is None:
            return True
        return self.resource_used + self._in_flight < budget

    def _has_work(self) -> bool:
        """Whether a free worker would get something to do (a re-queue, a promotion, a new trial)."""
        if self.requeue:
            return True
        if not self._budget_left():
            return False
        return self._may_start_new() or self.scheduler.find_promotion() is not None

    def _decide(self) -> list[Segment]:
        """Fill free workers: re-queued segments first, then promotions or new trials."""
        launches: list[Segment] = []
        free = self.executor.free_workers()
        now = self.executor.now()
        journal = self.journal
        while free > 0 and self.requeue:
            trial, attempt = next(iter(self.requeue.items()))
            del self.requeue[trial]
            t = self.scheduler.trials[trial]
            rec = self.trials[trial]
            seg = self._segment(trial, rec.checkpoint_level, t.target, attempt)
            launches.append(self._launch(seg, now))
            free -= 1
        while free > 0 and self._budget_left():
            rng = np.random.default_rng([self.exp.seed, self.decisions])
            action = self.scheduler.next_action(rng, allow_new=self._may_start_new())
            if action is None:
                break
            if isinstance(action, Promote):
                target = self.scheduler.promote(action.trial)
                journal.append("promoted", action.trial, now, decision=self.decisions,
                               level=action.level, target=target)
                seg = self._segment(action.trial, self.trials[action.trial].checkpoint_level, target, 1)
            else:
                assert isinstance(action, Start)
                t0 = _time.perf_counter()
                config = self.searcher.suggest(self._pending.values(), rng)
                suggest_ms = (_time.perf_counter() - t0) * 1e3
                state = export_state(self.searcher)
                if state is not None:  # before the trial it led to, so replay restores it in order
                    journal.append("searcher_state", None, now, decision=self.decisions, state=state)
                if config is None:
                    self._exhausted = True
                    continue
                trial = len(self.trials)
                target = self.scheduler.start(trial, action.bracket)
                self.trials[trial] = TrialRecord(dict(config), action.bracket)
                self.searcher.register(trial, config)
                journal.append("trial_created", trial, now, config=config, bracket=action.bracket,
                               target=target, decision=self.decisions, suggest_ms=round(suggest_ms, 4))
                seg = self._segment(trial, 0, target, 1)
            self.decisions += 1
            launches.append(self._launch(seg, now))
            free -= 1
        return launches

    def _segment(self, trial: int, start: Number, target: Number, attempt: int) -> Segment:
        rec = self.trials[trial]
        rungs = tuple(level for level in self.ladder.bracket_levels(rec.bracket) if start < level <= target)
        checkpoint = rec.checkpoint if start > 0 else None
        return Segment(trial, rec.config, start, target, rungs, attempt, checkpoint)

    def _launch(self, seg: Segment, now: float) -> Segment:
        self._start_segment(seg)
        self.journal.append("segment_started", seg.trial, now, start=seg.start, target=seg.target,
                            attempt=seg.attempt)
        return seg

    def _start_segment(self, seg: Segment) -> None:
        self.running[seg.trial] = seg
        self._pending[seg.trial] = Pending(seg.trial, seg.config, seg.target)
        self._in_flight += seg.target - seg.start

    def _end_segment(self, trial: int) -> Segment | None:
        seg = self.running.pop(trial, None)
        if seg is not None:
            del self._pending[trial]
            self._in_flight -= seg.target - seg.start
        return seg

    # ------------------------------------------------------------------ events
    def _handle(self, event: Report | SegmentDone | SegmentFailed) -> None:
        trial = event.trial
        if trial not in self.running:
            return  # a late event of a segment already stopped or cancelled
        journal = self.journal
        if isinstance(event, Report):
            value = self._check_metric(event)
            if value is None or not math.isfinite(value):
                got = event.metrics.get(self.exp.metric)
                self._fail(trial, event.time, f"metric {self.exp.metric!r} is {got!r} at {event.resource}")
                self.executor.stop(trial)
                return
            if event.resource <= self.trials[trial].level:
                return  # re-reported by a segment re-run from an older checkpoint: the first result stands
            journal.append("result", trial, event.time, resource=event.resource, metrics=dict(event.metrics))
            verdict = self._record_result(trial, event.resource, event.metrics)
            if verdict is Verdict.PAUSE:
                journal.append("paused", trial, event.time, resource=event.resource)
            elif verdict is Verdict.COMPLETE:
                journal.append("completed", trial, event.time, resource=event.resource)
            elif verdict is Verdict.STOP:
                journal.append("stopped", trial, event.time, resource=event.resource)
                self._end_segment(trial)
                self.executor.stop(trial)
                self._discard(trial)
        elif isinstance(event, CheckpointSaved):
            journal.append("checkpoint", trial, event.time, resource=event.resource, path=event.path)
            rec = self.trials[trial]
            rec.checkpoint_level, rec.checkpoint = event.resource, event.path
        elif isinstance(event, SegmentDone):
            if event.checkpoint is not None:
                journal.append("checkpoint", trial, event.time, resource=event.resource, path=event.checkpoint)
                rec = self.trials[trial]
                rec.checkpoint_level, rec.checkpoint = event.resource, event.checkpoint
            extra = {"worker": event.worker} if event.worker is not None else {}
            journal.append("segment_ended", trial, event.time, resource=event.resource, **extra)
            self._end_segment(trial)
            self.scheduler.on_segment_end(trial)
            state = self.scheduler.trials[trial].state
            if state == "running":  # ended before its target without being stopped
                self._fail(trial, event.time, f"segment ended at {event.resource} before its target "
                                              f"{self.scheduler.trials[trial].target}")
        elif isinstance(event, SegmentFailed):
            self._end_segment(trial)
            rec = self.trials[trial]
            if event.retryable and rec.retries < self.max_retries:
                rec.retries += 1
                journal.append("segment_lost", trial, event.time, error=event.error)
                self.requeue[trial] = rec.retries + 1
            else:
                self._fail(trial, event.time, event.error)

    def _check_metric(self, event: Report) -> float | None:
        metric = self.exp.metric
        if metric in event.metrics:
            self._metric_checked = True
            try:
                return float(event.metrics[metric])
            except (TypeError, ValueError):
                return None
        if not self._metric_checked:
            reported = ", ".join(sorted(event.metrics)) or "nothing"
            raise BadInput(where(self.exp.source, "metric",
                                 f"{metric!r} was never reported by {self.exp.trainable_ref} (it reported: {reported})"))
        return None

    def _record_result(self, trial: int, resource: Number, metrics: Mapping[str, Any], replay: bool = False) -> Verdict:
        rec = self.trials[trial]
        value = float(metrics[self.exp.metric])
        if resource > rec.level:
            self.resource_used += resource - rec.level
            rec.level = resource
            if self.checkpoints_every_report:
                rec.checkpoint_level = resource
        self.searcher.observe(trial, rec.config, resource, value)
        if resource in self.rungs:
            signed = self.sign * value
            best = self.best_by_level.get(resource)
            if best is None or (signed, trial) < best:
                self.best_by_level[resource] = (signed, trial)
        return self.scheduler.on_result(trial, resource, value)

    def _fail(self, trial: int, time: float, error: str) -> None:
        self._end_segment(trial)
        self.journal.append("failed", trial, time, error=error)
        self.scheduler.on_failed(trial)
        self.searcher.failed(trial)
        self.failures.append(f"trial {trial}: {_last_line(error)}")
        self._discard(trial)

    def _discard(self, trial: int) -> None:
        """Delete the checkpoint of a trial that can never be promoted (unless told to keep all)."""
        if self.keep_checkpoints != "all":
            self.executor.discard(trial)

    def discard_unpromotable(self) -> None:
        """At the end of a search: keep the checkpoints of completed trials and of the best one."""
        if self.keep_checkpoints == "all":
            return
        best = self.best()
        for trial, t in self.scheduler.trials.items():
            if t.state == "paused" and (best is None or trial != best[1]):
                self.executor.discard(trial)

    def _cancel_running(self, reason: str) -> None:
        now = self.executor.now()
        for trial in list(self.running):
            self.executor.stop(trial)
            self.journal.append("cancelled", trial, now, reason=reason)
            self.scheduler.on_cancelled(trial)
            self._end_segment(trial)
        self.requeue.clear()

    # ---------------------------------------------------------------- progress
    def best(self) -> tuple[float, int, Number] | None:
        """(value, trial, level): the best result at the highest rung level reached so far."""
        if not self.best_by_level:
            return None
        level = max(self.best_by_level)
        signed, trial = self.best_by_level[level]
        return self.sign * signed, trial, level

    def progress(self) -> Progress:
        return Progress(self.executor.now(), len(self.trials), len(self.running), self.scheduler.counts(),
                        self.best(), self.resource_used, self.scheduler.rung_occupancy(), self.failures[-5:],
                        len(self.failures))

    def _maybe_progress(self, force: bool = False) -> None:
        if self.on_progress is None:
            return
        now = _time.monotonic()
        if force or now - self._last_progress >= self.progress_every:
            self._last_progress = now
            self.on_progress(self.progress())


def _last_line(text: str) -> str:
    """The informative line of an error: a traceback's last line, else the first line."""
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    if not lines:
        return ""
    return lines[-1].strip() if lines[0].startswith("Traceback") else lines[0].strip()
