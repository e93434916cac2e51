"""Asynchronous Hyperband decisions: which trial trains how far.

Two variants of asynchronous successive halving (Li et al. 2020, ASHA; Klein et al. 2020,
MOBSTER section 3) with one or several brackets:

* **promotion** (default): a trial trains to the first rung of its bracket and pauses. When
  a worker frees up, rungs are scanned from the highest level down and the best paused trial
  that ranks in the top 1/eta of the results recorded at its rung (and was not promoted from
  there before) is promoted to the next rung; only if none qualifies does a new
  configuration start.
* **stopping**: a trial trains towards the maximum level and is stopped at a rung when its
  value is worse than the 1/eta quantile of the values recorded at that rung (itself
  included).

The scheduler is pure: no clocks, no I/O, no Ray. It consumes events and returns decisions,
so a journal replay of the same events rebuilds exactly the same state.
"""
from __future__ import annotations

import bisect
import heapq
import math
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from orchestrator.rungs import Ladder, Number

PROMOTION = "promotion"
STOPPING = "stopping"
SCHEDULER_TYPES = (PROMOTION, STOPPING)


class Verdict(str, Enum):
    """What happens to a trial after it reported a result at a rung level."""

    CONTINUE = "continue"  # keep training (stopping type, or a level below the segment target)
    PAUSE = "pause"  # segment reached its target rung; wait for a promotion
    STOP = "stop"  # stopping type: not in the top 1/eta of this rung
    COMPLETE = "complete"  # reached the maximum level


@dataclass(frozen=True)
class Start:
    """Start a new configuration in `bracket` and train it up to `target`."""

    bracket: int
    target: Number


@dataclass(frozen=True)
class Promote:
    """Resume `trial` from its checkpoint at `level` and train it up to `target`."""

    trial: int
    level: Number
    target: Number


@dataclass
class TrialState:
    bracket: int
    state: str = "running"  # running | pausing | paused | stopped | completed | failed
    level: Number = 0  # highest rung level with a recorded result
    target: Number = 0  # the level the current (or last) segment trains to
    rung_values: dict = field(default_factory=dict)  # level -> value (minimization sense)


class _Rung:
    """Results recorded at one rung of one bracket, and the paused trials waiting there."""

    __slots__ = ("values", "waiting")

    def __init__(self) -> None:
        self.values: list[tuple[float, int]] = []  # sorted (value, trial)
        self.waiting: list[tuple[float, int]] = []  # heap of paused, not yet promoted trials

    def record(self, value: float, trial: int) -> int:
        """Insert a result and return its rank (number of strictly better results)."""
        entry = (value, trial)
        bisect.insort(self.values, entry)
        return bisect.bisect_left(self.values, entry)

    def quantile(self, q: float) -> float:
        """The q-quantile of recorded values, linear interpolation as numpy.quantile."""
        n = len(self.values)
        pos = (n - 1) * q
        lo = math.floor(pos)
        hi = min(lo + 1, n - 1)
        v_lo, v_hi = self.values[lo][0], self.values[hi][0]
        return v_lo + (pos - lo) * (v_hi - v_lo)


class AsyncHyperband:
    """Asynchronous Hyperband scheduler (promotion or stopping type)."""

    def __init__(self, ladder: Ladder, kind: str = PROMOTION, mode: str = "min") -> None:
        if kind not in SCHEDULER_TYPES:
            raise ValueError(f"scheduler type must be one of {SCHEDULER_TYPES}, got {kind!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.ladder = ladder
        self.kind = kind
        self.sign = 1.0 if mode == "min" else -1.0
        self.trials: dict[int, TrialState] = {}
        self._rungs: dict[tuple[int, Number], _Rung] = {
            (b, level): _Rung() for b in range(ladder.brackets) for level in ladder.bracket_levels(b)
        }
        # Promotion scan order: highest level first; within a level, lower bracket first.
        self._scan = sorted(
            ((b, level) for (b, level) in self._rungs if level != ladder.max_level),
            key=lambda bl: (-ladder.index(bl[1]), bl[0]),
        )

    # ----------------------------------------------------------------- decisions
    def next_action(self, rng: np.random.Generator, allow_new: bool = True) -> Start | Promote | None:
        """What a free worker should do: a promotion if one qualifies, else a new trial."""
        if self.kind == PROMOTION:
            promotion = self.find_promotion()
            if promotion is not None:
                return promotion
        if not allow_new:
            return None
        bracket = self.ladder.draw_bracket(rng)
        first = self.ladder.bracket_levels(bracket)[0]
        target = first if self.kind == PROMOTION else self.ladder.max_level
        return Start(bracket, target)

    def find_promotion(self) -> Promote | None:
        """The best paused trial in the top 1/eta of its rung, scanning rungs top-down."""
        for key in self._scan:
            rung = self._rungs[key]
            best = self._best_waiting(rung, key[1])
            if best is None:
                continue
            value, trial = best
            rank = bisect.bisect_left(rung.values, best)
            if rank < int(len(rung.values) // self.ladder.eta):
                return Promote(trial, key[1], self.ladder.next_level(key[1]))
        return None

    def _best_waiting(self, rung: _Rung, level: Number) -> tuple[float, int] | None:
        while rung.waiting:
            value, trial = rung.waiting[0]
            t = self.trials[trial]
            if t.state == "paused" and t.level == level:
                return rung.waiting[0]
            heapq.heappop(rung.waiting)  # promoted, failed or stopped since: never waits here again
        return None

    # ------------------------------------------------------------ state changes
    def start(self, trial: int, bracket: int, target: Number | None = None) -> Number:
        """Register a new trial (live or replayed); returns the level its first segment trains to."""
        if trial in self.trials:
            raise ValueError(f"trial {trial} already exists")
        if target is None:
            first = self.ladder.bracket_levels(bracket)[0]
            target = first if self.kind == PROMOTION else self.ladder.max_level
        self.trials[trial] = TrialState(bracket=bracket, target=target)
        return target

    def promote(self, trial: int) -> Number:
        """Apply a promotion (live or replayed); returns the new target level."""
        t = self.trials[trial]
        if t.state != "paused":
            raise ValueError(f"trial {trial} is {t.state}, only paused trials can be promoted")
        t.state = "running"
        t.target = self.ladder.next_level(t.level)
        return t.target

    def on_result(self, trial: int, level: Number, value: float) -> Verdict:
        """Record a result; only rung levels matter, other levels return CONTINUE."""
        t = self.trials[trial]
        if t.state in ("stopped", "failed", "completed"):
            return Verdict.STOP if t.state != "completed" else Verdict.COMPLETE
        key = (t.bracket, level)
        rung = self._rungs.get(key)
        if rung is None or level in t.rung_values:
            return Verdict.CONTINUE
        signed = self.sign * float(value)
        t.rung_values[level] = signed
        t.level = level
        rung.record(signed, trial)
        if level == self.ladder.max_level:
            t.state = "completed"
            return Verdict.COMPLETE
        if self.kind == STOPPING:
            if signed > rung.quantile(1.0 / self.ladder.eta):
                t.state = "stopped"
                return Verdict.STOP
            return Verdict.CONTINUE
        if level >= t.target:
            # Promotable only once its segment has ended (checkpoint written): see on_segment_end.
            t.state = "pausing"
            return Verdict.PAUSE
        return Verdict.CONTINUE

    def on_segment_end(self, trial: int) -> None:
        """The trial's segment ended on its worker: a trial that paused becomes promotable."""
        t = self.trials[trial]
        if t.state == "pausing":
            self._pause(trial, t)

    def _pause(self, trial: int, t: TrialState) -> None:
        t.state = "paused"
        if t.level != self.ladder.max_level:
            heapq.heappush(self._rungs[(t.bracket, t.level)].waiting, (t.rung_values[t.level], trial))

    def on_failed(self, trial: int) -> None:
        self.trials[trial].state = "failed"

    def on_cancelled(self, trial: int) -> None:
        """A running segment was cancelled (search deadline): the trial keeps its last rung."""
        t = self.trials[trial]
        if t.state in ("running", "pausing"):
            if t.level:
                self._pause(trial, t)
            else:
                t.state = "stopped"

    # ----------------------------------------------------------------- queries
    def resource_used(self) -> Number:
        """Sum over trials of the highest rung level reached (what promotion-type training costs)."""
        return sum(t.level for t in self.trials.values())

    def counts(self) -> dict[str, int]:
        out = {"running": 0, "paused": 0, "stopped": 0, "completed": 0, "failed": 0}
        for t in self.trials.values():
            out["running" if t.state == "pausing" else t.state] += 1
        return out

    def rung_occupancy(self) -> dict[Number, int]:
        """How many results each rung level holds, across brackets."""
        occ: dict[Number, int] = {level: 0 for level in self.ladder.levels}
        for (_, level), rung in self._rungs.items():
            occ[level] += len(rung.values)
        return occ
