"""`rung export`: one row per reported result, as CSV, JSON or Parquet.

Columns: trial, resource, every reported metric, the configuration as ``config.NAME``
(absent parameters of conditional spaces are empty), and the experiment-clock time.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

from orchestrator.journal import Journal

FORMATS = ("csv", "json", "parquet")


def results_frame(directory: str | Path) -> "pd.DataFrame":
    """All reported results of a search as a DataFrame (the rows `rung export` writes)."""
    import pandas as pd  # imported here: the CLI starts faster without it
    configs: dict[int, dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []
    metric_names: dict[str, None] = {}
    with Journal.open(Path(directory), readonly=True) as journal:
        names = list(journal.meta()["space_names"])
        for ev in journal.events(kinds=("trial_created", "result")):
            if ev.kind == "trial_created":
                configs[ev.trial] = ev.data["config"]
                continue
            metrics = ev.data["metrics"]
            row: dict[str, Any] = {"trial": ev.trial, "resource": ev.data["resource"]}
            for key, value in metrics.items():
                metric_names.setdefault(key, None)
                row[key] = value
            config = configs[ev.trial]
            for name in names:
                row[f"config.{name}"] = config.get(name)
            row["time"] = ev.time
            rows.append(row)
    columns = ["trial", "resource", *metric_names, *(f"config.{n}" for n in names), "time"]
    return pd.DataFrame(rows, columns=columns)


def export(directory: str | Path, fmt: str, out: str | Path | None) -> Path | None:
    """Write the results to `out` (or stdout for csv/json when out is None)."""
    frame = results_frame(directory)
    if fmt == "csv":
        text = frame.to_csv(index=False)
    elif fmt == "json":
        text = frame.to_json(orient="records", indent=1)
    elif fmt == "parquet":
        target = Path(out) if out is not None else Path(directory) / "results.parquet"
        frame.to_parquet(target, index=False)
        return target
    else:
        raise ValueError(f"format must be one of {FORMATS}")
    if out is None:
        print(text, end="" if text.endswith("\n") else "\n")
        return None
    Path(out).write_text(text)
    return Path(out)
