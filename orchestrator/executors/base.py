"""One interface for every place a segment can run (the simulator, Ray).

A *segment* trains one trial from a resource level (0 or its last checkpoint) up to a
target rung. Executors stream back what happens as events; the loop decides what they
mean. Nothing here knows about schedulers, searchers or the journal.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class Segment:
    """Train `trial` with `config` from `start` (a checkpoint level, 0 = scratch) to `target`."""

    trial: int
    config: Mapping[str, Any]
    start: float
    target: float
    rungs: tuple[float, ...] = ()  # rung levels in (start, target]: where results must be reported
    attempt: int = 1
    checkpoint: str | None = None  # where the checkpoint at `start` lives, if any


@dataclass(frozen=True)
class Report:
    trial: int
    resource: float
    metrics: Mapping[str, float]
    time: float


@dataclass(frozen=True)
class SegmentDone:
    """The segment ended by itself at `resource` (its target, normally)."""

    trial: int
    resource: float
    time: float
    checkpoint: str | None = None
    worker: str | None = None  # which worker slot / node ran it, for the journal


@dataclass(frozen=True)
class CheckpointSaved:
    """The trial's checkpoint at `resource` is durable at `path` (a re-queue starts there)."""

    trial: int
    resource: float
    path: str
    time: float


@dataclass(frozen=True)
class SegmentFailed:
    """The segment failed: the trainable raised (not retryable) or its worker was lost (retryable)."""

    trial: int
    error: str
    time: float
    retryable: bool = False


ExecutorEvent = Report | SegmentDone | SegmentFailed | CheckpointSaved


@dataclass
class WorkerSlots:
    """Bookkeeping of which worker slot runs which trial."""

    size: int
    by_trial: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._free = list(range(self.size - 1, -1, -1))

    @property
    def free(self) -> int:
        return len(self._free)

    def take(self, trial: int, avoid: int | None = None) -> int:
        slot = self._free.pop()
        self.by_trial[trial] = slot
        return slot

    def release(self, trial: int) -> int | None:
        slot = self.by_trial.pop(trial, None)
        if slot is not None:
            self._free.append(slot)
        return slot


class Executor(ABC):
    """Runs segments on `workers` slots and reports what happens."""

    workers: int
    #: The simulator can restart a trial from any level it reported; real training only from
    #: a checkpoint the trainable saved (CheckpointSaved events).
    checkpoints_every_report: bool = True

    @abstractmethod
    def free_workers(self) -> int:
        """Slots that can take a segment now."""

    def busy(self) -> int:
        """Slots still occupied, including segments being stopped that have not ended yet."""
        return self.workers - self.free_workers()

    def starting(self) -> int:
        """Slots whose worker is still being started or placed (none for the simulator)."""
        return 0

    @abstractmethod
    def launch(self, segment: Segment) -> int:
        """Start a segment on a free slot; returns the slot (worker) index."""

    @abstractmethod
    def poll(self, deadline: float | None = None) -> list[ExecutorEvent]:
        """Wait for the next events. Returns [] when nothing runs or the clock passed `deadline`."""

    @abstractmethod
    def stop(self, trial: int) -> None:
        """Stop the running segment of `trial` (stopping scheduler); its slot is free afterwards."""

    @abstractmethod
    def now(self) -> float:
        """The experiment clock in seconds (simulated or wall)."""

    def discard(self, trial: int) -> None:
        """`trial` can never be promoted again: its checkpoint may be deleted."""

    def close(self) -> None:
        """Release workers and connections."""
