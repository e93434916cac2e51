"""Plain progress lines for `rung run`/`resume` (a live rich view comes later).

One line every few seconds on stderr, so logs, nohup and CI show what a long search does.
"""
from __future__ import annotations

import sys
import time
from typing import TextIO

from orchestrator.experiment import Experiment
from orchestrator.loop import Progress


class ProgressLines:
    """Callable for `SearchLoop(on_progress=...)` printing one status line per call."""

    def __init__(self, exp: Experiment, stream: TextIO = sys.stderr) -> None:
        self.exp = exp
        self.stream = stream
        self.t0 = time.monotonic()
        self.clock = "sim" if exp.executor == "simulated" else "wall"

    def __call__(self, p: Progress) -> None:
        exp = self.exp
        total = f"/{exp.stop.trials}" if exp.stop.trials else ""
        c = p.counts
        best = "-"
        if p.best is not None:
            value, trial, level = p.best
            best = f"{exp.metric}={value:.6g} (trial {trial} @ {exp.resource.name} {level})"
        wall = time.monotonic() - self.t0
        line = (f"[{wall:7.1f}s wall | {p.elapsed:10.1f}s {self.clock}] trials {p.trials}{total}: "
                f"running {p.running}, paused {c['paused']}, completed {c['completed']}, "
                f"stopped {c['stopped']}, failed {c['failed']} | {exp.resource.name} used {p.resource_used:g} | best {best}")
        print(line, file=self.stream, flush=True)
