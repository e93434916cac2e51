"""Progress of a running search: a live rich view on a terminal, plain lines elsewhere.

People run sweeps for hours; at a glance they want trials by state, how full each rung is,
the best result so far, time against the stop condition with an estimate of what is left,
and the latest failures. Without a TTY (CI, logs, nohup) the same facts go out as one plain
line every few seconds, which greps and tails well.
"""
from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from orchestrator.experiment import Experiment
from orchestrator.loop import Progress


def stop_fraction(exp: Experiment, p: Progress) -> float | None:
    """How far the search is towards its nearest stop condition, in [0, 1]."""
    parts = []
    if exp.stop.trials:
        parts.append(p.trials / exp.stop.trials)
    if exp.stop.wall_seconds:
        parts.append(p.elapsed / exp.stop.wall_seconds)
    if exp.stop.total_resource:
        parts.append(p.resource_used / exp.stop.total_resource)
    return min(1.0, max(parts)) if parts else None


def _best_text(exp: Experiment, p: Progress) -> str:
    if p.best is None:
        return "-"
    value, trial, level = p.best
    return f"{exp.metric}={value:.6g} (trial {trial} @ {exp.resource.name} {level:g})"


class ProgressLines:
    """`SearchLoop(on_progress=...)` callback printing one plain status line per call."""

    every = 2.0  # seconds between lines

    def __init__(self, exp: Experiment, stream: TextIO = sys.stderr, verbose: bool = False) -> None:
        self.exp = exp
        self.stream = stream
        self.verbose = verbose
        self.t0 = time.monotonic()
        self.clock = "sim" if exp.executor == "simulated" else "wall"
        self._failures_seen = 0

    def __call__(self, p: Progress) -> None:
        exp = self.exp
        total = f"/{exp.stop.trials}" if exp.stop.trials else ""
        c = p.counts
        wall = time.monotonic() - self.t0
        line = (f"[{wall:7.1f}s wall | {p.elapsed:10.1f}s {self.clock}] trials {p.trials}{total}: "
                f"running {p.running}, paused {c['paused']}, completed {c['completed']}, "
                f"stopped {c['stopped']}, failed {c['failed']} | {exp.resource.name} used {p.resource_used:g} "
                f"| best {_best_text(exp, p)}")
        if self.verbose:
            occupancy = " ".join(f"{level:g}:{n}" for level, n in p.occupancy.items())
            line += f" | rungs {occupancy}"
        print(line, file=self.stream, flush=True)
        if p.failure_count > self._failures_seen:
            for failure in p.failures[-(p.failure_count - self._failures_seen):]:
                print(f"  failed: {failure}", file=self.stream, flush=True)
            self._failures_seen = p.failure_count

    def close(self) -> None:
        pass


class LiveView:
    """A rich live panel, redrawn in place, for a search run from a terminal."""

    every = 0.5

    def __init__(self, exp: Experiment, stream: TextIO = sys.stderr) -> None:
        from rich.console import Console
        from rich.live import Live

        self.exp = exp
        self.t0 = time.monotonic()
        self.clock = "simulated" if exp.executor == "simulated" else "wall"
        self.console = Console(file=stream)
        self.live = Live(console=self.console, refresh_per_second=4, transient=False)
        self.live.start()

    def __call__(self, p: Progress) -> None:
        self.live.update(self.render(p))

    def render(self, p: Progress) -> Any:
        from rich.panel import Panel
        from rich.table import Table

        exp = self.exp
        c = p.counts
        wall = time.monotonic() - self.t0
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        total = f" of {exp.stop.trials}" if exp.stop.trials else ""
        table.add_row("trials", f"{p.trials}{total}: [cyan]{p.running} running[/], {c['paused']} paused, "
                      f"[green]{c['completed']} completed[/], {c['stopped']} stopped, [red]{c['failed']} failed[/]")
        table.add_row("rungs", "  ".join(f"{exp.resource.name} {level:g}: {n}" for level, n in p.occupancy.items()))
        table.add_row("best", _best_text(exp, p))
        fraction = stop_fraction(exp, p)
        timing = f"{wall:.0f} s wall" + (f", {p.elapsed:.0f} s simulated" if self.clock == "simulated" else "")
        if fraction:
            left = wall * (1 - fraction) / fraction if fraction > 0.01 else None
            timing += f" | {100 * fraction:.0f}% of the stop condition"
            if left is not None and fraction < 1:
                timing += f", about {left:.0f} s left"
        table.add_row("time", timing)
        table.add_row(f"{exp.resource.name}s used", f"{p.resource_used:g}")
        for failure in p.failures[-3:]:
            table.add_row("[red]failed[/]", failure[:160])
        return Panel(table, title=f"rung: {exp.name}", border_style="blue")

    def close(self) -> None:
        self.live.stop()


def make_progress(exp: Experiment, quiet: bool = False, verbose: bool = False, stream: TextIO = sys.stderr) -> Any:
    """The right display: none (--quiet), live (a terminal), or plain lines."""
    if quiet:
        return None
    if stream.isatty() and not verbose:
        return LiveView(exp, stream)
    return ProgressLines(exp, stream, verbose=verbose)
