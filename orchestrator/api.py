"""The Python API: the CLI's verbs for scripts and notebooks, returning plain data.

    import orchestrator as rung
    summary = rung.run("examples/hartmann6-asha.yaml", directory="runs/h6")
    frame = rung.results("runs/h6")          # pandas DataFrame, one row per reported result
    rung.best_config("runs/h6")              # the best configuration, ready to retrain

Errors a user can fix raise `BadInput` (its message is one line naming file, key, problem).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from orchestrator.experiment import Experiment, from_dict, load_experiment
from orchestrator.progress import ProgressLines
from orchestrator.runner import resume as _resume
from orchestrator.runner import start as _start
from orchestrator.summary import summarize

if TYPE_CHECKING:
    import pandas as pd


def load(config: str | Path | Mapping[str, Any], *, workers: int | None = None, seed: int | None = None,
         address: str | None = None) -> Experiment:
    """Validate an experiment from a YAML path or a mapping (`rung validate`)."""
    overrides = {k: v for k, v in {"workers": workers, "seed": seed}.items() if v is not None}
    if isinstance(config, Mapping):
        data = {**config, **overrides}
        if address is not None:
            data["executor"] = {**dict(data.get("executor") or {}), "type": "ray", "address": address}
        return from_dict(data, source="<dict>", base_dir=Path.cwd())
    return load_experiment(config, overrides, executor_address=address)


def run(config: str | Path | Mapping[str, Any], directory: str | Path | None = None, *,
        workers: int | None = None, seed: int | None = None, address: str | None = None,
        progress: bool = False) -> dict[str, Any]:
    """Run a search to its stop condition (`rung run`); returns its status dict."""
    exp = load(config, workers=workers, seed=seed, address=address)
    out = _start(exp, Path(directory) if directory is not None else None, ProgressLines(exp) if progress else None)
    return summarize(out)


def resume(directory: str | Path, *, progress: bool = False) -> dict[str, Any]:
    """Continue an interrupted search (`rung resume`); returns its status dict."""
    from orchestrator.journal import Journal
    from orchestrator.runner import load_stored_experiment

    callback = None
    if progress:
        with Journal.open(Path(directory), readonly=True) as journal:
            callback = ProgressLines(load_stored_experiment(journal))
    _resume(Path(directory), callback)
    return summarize(directory)


def status(directory: str | Path) -> dict[str, Any]:
    """The `rung status --json` object of a running or finished search."""
    return summarize(directory)


def results(directory: str | Path) -> "pd.DataFrame":
    """Every reported result as a DataFrame (the rows of `rung export`)."""
    from orchestrator.export import results_frame

    return results_frame(directory)


def best_config(directory: str | Path) -> dict[str, Any] | None:
    """The best configuration found (at the highest rung reached), or None before any result."""
    best = summarize(directory)["best"]
    return None if best is None else dict(best["config"])
