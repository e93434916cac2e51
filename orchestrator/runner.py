"""Starting and resuming searches: the lifecycle around one `SearchLoop`.

A run writes ``run_started`` (with its pid and host, so `rung status` can tell a running
search from an interrupted one), drives the loop and ends with ``run_ended``. Ctrl-C
commits what happened and records ``interrupted``; kill -9 leaves no ``run_ended`` and is
recognised as interrupted from the dead pid. Nothing already committed is ever rewritten.
"""
from __future__ import annotations

import os
import socket
import time as _time
from datetime import datetime
from pathlib import Path
from typing import Callable

from orchestrator.errors import BadInput
from orchestrator.executors.base import Executor
from orchestrator.executors.simulated import SimulatedExecutor
from orchestrator.experiment import Experiment, from_dict
from orchestrator.journal import JOURNAL_FILE, Journal, JournalError
from orchestrator.loop import Progress, SearchLoop
from orchestrator.summary import search_state

RUNS_ROOT = Path("rung-runs")


class SearchFailed(Exception):
    """The search ended with every trial failed: nothing useful was found."""


class Interrupted(Exception):
    """The user pressed Ctrl-C; the journal is intact and the search can be resumed."""

    def __init__(self, directory: Path) -> None:
        super().__init__(f"interrupted; the journal is intact. Resume with: rung resume {directory}")
        self.directory = directory


def default_directory(name: str, root: Path = RUNS_ROOT) -> Path:
    """A new folder under ./rung-runs/ named after the experiment and the time."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = root / f"{name}-{stamp}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = Path(f"{base}-{n}")
    return candidate


def make_executor(exp: Experiment, directory: Path, start_time: float = 0.0, trainable: object | None = None) -> Executor:
    """The executor named in the experiment: the simulator, or Ray (embedded or `address`)."""
    trainable = exp.load_trainable() if trainable is None else trainable
    if exp.executor == "simulated":
        return SimulatedExecutor(trainable, exp.workers, start_time=start_time, levels=exp.ladder.levels)
    from orchestrator.executors.ray_setup import make_ray_executor

    return make_ray_executor(exp, Path(directory), start_time)


def start(exp: Experiment, directory: Path | None = None,
          on_progress: Callable[[Progress], None] | None = None) -> Path:
    """Run a new search into `directory` (default: a new folder under ./rung-runs/)."""
    directory = Path(directory) if directory is not None else default_directory(exp.name)
    if (directory / JOURNAL_FILE).exists():
        raise BadInput(f"{directory}: already holds a search; continue it with: rung resume {directory}")
    trainable = exp.load_trainable()  # fail on a bad trainable before creating anything
    executor = make_executor(exp, directory, trainable=trainable)
    journal = Journal.create(directory, journal_meta(exp, trainable))
    _drive(SearchLoop(exp, journal, executor, on_progress), journal, directory, "run")
    return directory


def journal_meta(exp: Experiment, trainable: object) -> dict:
    """What a new journal records about its search, so that `rung resume` and `rung status` need
    nothing but the run directory: the spec as given, where it came from, and the space's identity."""
    return {
        "spec": exp.spec,
        "source": exp.source,
        "base_dir": str(exp.base_dir),
        "space_names": exp.space.names,
        "space_fingerprint": exp.space.fingerprint(),
        "regret": regret_reference(exp, trainable),
    }


def regret_reference(exp: Experiment, trainable: object) -> dict[str, float] | None:
    """Optimum and scale for normalized regret, when the trainable is a benchmark that knows them.

    Only used when the benchmark optimizes the experiment's own metric in the same direction.
    """
    optimum = getattr(trainable, "optimum", None)
    scale = getattr(trainable, "regret_scale", None)
    if (optimum is None or not scale or getattr(trainable, "metric", None) != exp.metric
            or getattr(trainable, "mode", None) != exp.mode):
        return None
    return {"optimum": float(optimum), "scale": float(scale)}


def load_stored_experiment(journal: Journal) -> Experiment:
    meta = journal.meta()
    return from_dict(meta["spec"], source=meta["source"], base_dir=Path(meta["base_dir"]))


def resume(directory: Path, on_progress: Callable[[Progress], None] | None = None,
           address: str | None = None) -> tuple[Path, str]:
    """Continue an interrupted search to its stop condition; returns (dir, state before resuming)."""
    directory = Path(directory)
    try:
        journal = Journal.open(directory)
    except JournalError as err:
        raise BadInput(str(err)) from None
    state, _ = search_state(journal)
    if state == "running":
        journal.close()
        raise BadInput(f"{directory}: the search is still running (another rung process holds it)")
    if state == "finished":
        journal.close()
        return directory, state
    try:
        exp = load_stored_experiment(journal)
        if address is not None:  # e.g. the head node came back with a new IP
            if exp.executor != "ray":
                raise BadInput(f"{directory}: --address: this search runs on the {exp.executor} executor, not ray")
            exp.executor_options["address"] = address
        executor = make_executor(exp, directory, start_time=journal.last_time())
        loop = SearchLoop(exp, journal, executor, on_progress)
        loop.replay()
    except BaseException:
        journal.close()
        raise
    _drive(loop, journal, directory, "resume")
    return directory, state


def _drive(loop: SearchLoop, journal: Journal, directory: Path, kind: str) -> None:
    ex = loop.executor
    journal.append("run_started", None, ex.now(), how=kind, pid=os.getpid(), host=socket.gethostname(),
                   started=_time.time())
    journal.commit()
    try:
        state = loop.run()
        loop.discard_unpromotable()
        counts = loop.scheduler.counts()
        if loop.trials and counts["failed"] == len(loop.trials):
            first = loop.failures[0] if loop.failures else "unknown error"
            raise SearchFailed(f"every trial failed ({len(loop.trials)}); the first: {first}")
        journal.append("run_ended", None, ex.now(), state=state)
    except KeyboardInterrupt:
        journal.append("run_ended", None, ex.now(), state="interrupted")
        raise Interrupted(directory) from None
    except BaseException as err:
        journal.append("run_ended", None, ex.now(), state="failed", error=f"{type(err).__name__}: {err}")
        raise
    finally:
        try:
            journal.close()
        finally:
            try:
                ex.close()
            finally:
                close = getattr(loop.on_progress, "close", None)
                if close is not None:
                    close()
