"""rung's own methods behind the comparison protocol: AsyncHyperband + random/gp/tpe searcher.

Runs in rung's .venv. It uses exactly the scheduler and searcher objects rung's SearchLoop uses
(``orchestrator.scheduler.AsyncHyperband``, ``orchestrator.searchers.make_searcher``) and mirrors
the loop's calls (suggest with pending evaluations, register, observe, on_result,
on_segment_end), with randomness from ``default_rng([seed, decision])`` as the loop draws it; only
time and workers moved to the harness, which is the point of the comparison: every method sees
the same clock.

Usage (the harness spawns it; see protocol.md)::

    .venv/bin/python benchmarks/compare/methods/rung_method.py --searcher gp --scheduler promotion
"""
from __future__ import annotations

import argparse
import json
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any, Mapping

import numpy as np

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orchestrator.rungs import Ladder  # noqa: E402
from orchestrator.scheduler import AsyncHyperband, Promote, Start, Verdict  # noqa: E402
from orchestrator.searchers import Pending, make_searcher  # noqa: E402
from protocol import serve  # noqa: E402
from spaces import Space  # noqa: E402

# The libraries whose versions decide a searcher's proposals. rung's .venv is not pinned the way a
# peer's env is (it takes what ``pip install -e .`` resolves), so each run records them.
LIBRARIES = {"random": ("numpy",), "tpe": ("optuna", "numpy"), "gp": ("botorch", "gpytorch", "torch", "numpy")}


def libraries(searcher: str) -> str:
    """``'rung 0.1.0; optuna 5.1.0, numpy 2.4.6'``: what made this searcher's decisions."""
    return f"rung {version('rung')}; " + ", ".join(f"{lib} {version(lib)}" for lib in LIBRARIES[searcher])


class RungMethod:
    """One rung search (scheduler type x searcher type) answering ask/tell."""

    def __init__(self, searcher: str, scheduler: str, brackets: int = 1,
                 searcher_options: Mapping[str, Any] | None = None,
                 space_override: Mapping[str, Any] | None = None, full_budget: bool = False) -> None:
        self.full_budget = full_budget  # every trial straight to the maximum resource (no early stopping)
        self.searcher_kind = searcher
        self.scheduler_kind = scheduler
        self.brackets = brackets
        self.searcher_options = dict(searcher_options or {})
        self.space_override = space_override  # a method that defines its own space (mismatch tests)
        self.configs: dict[int, dict[str, Any]] = {}
        self.pending: dict[int, Pending] = {}
        self.decisions = 0

    def init(self, msg: Mapping[str, Any]) -> dict[str, Any]:
        self.space = Space.from_dict(self.space_override if self.space_override is not None else msg["space"],
                                     source="compare-init")
        res = msg["resource"]
        self.ladder = Ladder.build(res["min"], res["max"], res["eta"], self.brackets)
        self.mode = msg["mode"]
        self.seed = int(msg["seed"])
        self.scheduler = AsyncHyperband(self.ladder, self.scheduler_kind, self.mode)
        self.searcher = make_searcher(self.searcher_kind, self.space, self.mode, self.searcher_options,
                                      self.ladder.levels)
        return {"space_fingerprint": self.space.fingerprint(), "space": self.space.to_dict(),
                "budget": msg.get("budget"), "resource": dict(res),
                "method": f"rung {self.searcher_kind}+{'full' if self.full_budget else self.scheduler_kind}",
                "libraries": libraries(self.searcher_kind)}

    def _next_level(self, trial: int) -> int:
        """The next rung of the trial's bracket above its last reported level."""
        t = self.scheduler.trials[trial]
        return next(level for level in self.ladder.bracket_levels(t.bracket) if level > t.level)

    def ask(self) -> dict[str, Any]:
        rng = np.random.default_rng([self.seed, self.decisions])
        if self.full_budget:
            config = self.searcher.suggest(list(self.pending.values()), rng)
            if config is None:
                return {"wait": True}
            trial = len(self.configs)
            self.configs[trial] = dict(config)
            self.searcher.register(trial, config)
            self.pending[trial] = Pending(trial, self.configs[trial], self.ladder.max_level)
            self.decisions += 1
            return {"trial": trial, "config": _plain(config), "resource": self.ladder.max_level}
        action = self.scheduler.next_action(rng, allow_new=True)
        if action is None:
            return {"wait": True}
        if isinstance(action, Promote):
            target = self.scheduler.promote(action.trial)
            self.pending[action.trial] = Pending(action.trial, self.configs[action.trial], target)
            self.decisions += 1
            return {"trial": action.trial, "config": self.configs[action.trial],
                    "resource": self._next_level(action.trial)}
        assert isinstance(action, Start)
        config = self.searcher.suggest(list(self.pending.values()), rng)
        if config is None:  # a finite space is exhausted
            return {"wait": True}
        trial = len(self.configs)
        target = self.scheduler.start(trial, action.bracket)
        self.configs[trial] = dict(config)
        self.searcher.register(trial, config)
        self.pending[trial] = Pending(trial, self.configs[trial], target)
        self.decisions += 1
        return {"trial": trial, "config": _plain(config), "resource": self._next_level(trial)}

    def tell(self, trial: int, resource: int, value: float) -> dict[str, Any]:
        self.searcher.observe(trial, self.configs[trial], resource, value)
        if self.full_budget:
            self.pending.pop(trial, None)
            return {"continue": False}
        verdict = self.scheduler.on_result(trial, resource, value)
        if verdict is Verdict.CONTINUE:
            return {"continue": True, "resource": self._next_level(trial)}
        self.pending.pop(trial, None)
        if verdict is Verdict.PAUSE:
            self.scheduler.on_segment_end(trial)  # the harness frees the worker now: promotable
        return {"continue": False}


def _plain(config: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-safe values (numpy scalars become python ones)."""
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in config.items()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--searcher", default="random", choices=["random", "gp", "tpe"])
    ap.add_argument("--scheduler", default="promotion", choices=["promotion", "stopping"])
    ap.add_argument("--brackets", type=int, default=1)
    ap.add_argument("--full-budget", action="store_true",
                    help="plain random/model search: every trial trains to the maximum resource")
    ap.add_argument("--searcher-options", default="{}", help="JSON object of searcher options")
    ap.add_argument("--space-json", default=None,
                    help="use this space instead of the harness's (to test that a mismatch is refused)")
    args = ap.parse_args(argv)
    override = json.loads(args.space_json) if args.space_json else None
    serve(RungMethod(args.searcher, args.scheduler, args.brackets, json.loads(args.searcher_options), override,
                    args.full_budget))


if __name__ == "__main__":
    main()
