"""A search's journal as numpy columns: what `rung report` plots, read in one pass.

`rung report` must stay fast on a 100,000-trial search (a few hundred thousand events), so the
journal is read once into flat arrays (one row per trial, one row per result) and every figure
is computed from them with vectorised numpy; the only per-event Python work is that one pass.
The `rung status` picture (state, counts, best) comes from `summary.summarize`, so the report
and `rung status` never disagree.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from orchestrator.journal import Journal
from orchestrator.rungs import rung_levels
from orchestrator.summary import summarize


@dataclass
class SearchData:
    """Columns of one search. Values are as reported; `signed` is in the minimization sense."""

    directory: Path
    spec: dict[str, Any]
    summary: dict[str, Any]  # the `rung status --json` object
    levels: np.ndarray  # rung levels, lowest first
    # one row per trial, in creation order
    trial_ids: np.ndarray  # int64
    configs: list[dict[str, Any]]
    suggest_ms: np.ndarray
    # one row per reported result (with a finite metric), in journal order
    res_row: np.ndarray  # int64: row of the trial in the per-trial arrays
    res_resource: np.ndarray
    res_value: np.ndarray
    res_time: np.ndarray
    res_at_rung: np.ndarray  # bool: the result is at a rung level

    @property
    def metric(self) -> str:
        return self.spec["metric"]

    @property
    def sign(self) -> float:
        return 1.0 if self.spec["mode"] == "min" else -1.0

    @property
    def resource_name(self) -> str:
        return self.spec["resource"].get("name", "resource")

    @property
    def clock(self) -> str:
        return self.summary["clock"]

    @property
    def param_specs(self) -> dict[str, dict[str, Any]]:
        """The flat (dotted-name) space spec stored with the search."""
        return self.spec["space"]

    def final_results(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per trial with a rung result: (trial row, highest rung level reached, value there)."""
        mask = self.res_at_rung
        rows, res, val = self.res_row[mask], self.res_resource[mask], self.res_value[mask]
        if rows.size == 0:
            empty = np.empty(0)
            return empty.astype(np.int64), empty, empty
        # stable sort by (row, resource): the last result of a row is its highest (and, for a
        # level reported twice after a retried segment, its latest) value
        order = np.lexsort((np.arange(rows.size), res, rows))
        rows, res, val = rows[order], res[order], val[order]
        last = np.flatnonzero(np.r_[rows[1:] != rows[:-1], True])
        return rows[last], res[last], val[last]

    def ranking(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Trials best first, as `rung status` ranks them: highest rung reached, then value."""
        rows, res, val = self.final_results()
        order = np.lexsort((self.sign * val, -res))
        return rows[order], res[order], val[order]

    def results_at(self, level: float) -> tuple[np.ndarray, np.ndarray]:
        """(trial rows, values) of the results at rung `level`, the latest per trial, best first."""
        mask = self.res_at_rung & (self.res_resource == level)
        rows, vals = self.res_row[mask][::-1], self.res_value[mask][::-1]
        _, first = np.unique(rows, return_index=True)  # first in reversed order = latest
        rows, vals = rows[first], vals[first]
        order = np.argsort(self.sign * vals, kind="stable")
        return rows[order], vals[order]

    def reference_level(self, minimum: int = 10) -> float | None:
        """The highest rung with at least `minimum` results (else the one with the most)."""
        res = self.res_resource[self.res_at_rung]
        if res.size == 0:
            return None
        levels, counts = np.unique(res, return_counts=True)
        enough = levels[counts >= minimum]
        return float(enough.max()) if enough.size else float(levels[np.argmax(counts)])


def load(directory: str | Path) -> SearchData:
    """Read a search (running or finished) into columns; raises JournalError without one."""
    directory = Path(directory)
    summary = summarize(directory)
    with Journal.open(directory, readonly=True) as journal:
        spec = journal.meta()["spec"]
        metric = spec["metric"]
        trial_ids: list[int] = []
        configs: list[dict[str, Any]] = []
        suggest: list[float] = []
        r_trial: list[int] = []
        r_res: list[float] = []
        r_val: list[float] = []
        r_time: list[float] = []
        for ev in journal.events(kinds=("trial_created", "result")):
            d = ev.data
            if ev.kind == "trial_created":
                trial_ids.append(ev.trial)
                configs.append(d["config"])
                suggest.append(d.get("suggest_ms", math.nan))
            else:
                value = d["metrics"].get(metric)
                if isinstance(value, (int, float)) and math.isfinite(value):
                    r_trial.append(ev.trial)
                    r_res.append(d["resource"])
                    r_val.append(value)
                    r_time.append(ev.time)
    ids = np.asarray(trial_ids, dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    rows = order[np.searchsorted(ids[order], np.asarray(r_trial, dtype=np.int64))] if r_trial else np.empty(0, np.int64)
    r = spec["resource"]
    levels = np.asarray(rung_levels(r["min"], r["max"], r["reduction_factor"]), dtype=float)
    resource = np.asarray(r_res, dtype=float)
    return SearchData(
        directory=directory, spec=spec, summary=summary, levels=levels,
        trial_ids=ids, configs=configs, suggest_ms=np.asarray(suggest, dtype=float),
        res_row=rows.astype(np.int64), res_resource=resource, res_value=np.asarray(r_val, dtype=float),
        res_time=np.asarray(r_time, dtype=float), res_at_rung=np.isin(resource, levels),
    )


def normalized_params(data: SearchData, rows: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Each parameter of trials `rows` mapped to [0, 1] on its own scale (log where `log: true`,
    a choice's index in its list); NaN where the parameter is inactive (conditional spaces)."""
    names = [n for n, p in data.param_specs.items() if p.get("type") != "constant"]
    out = np.full((len(rows), len(names)), np.nan)
    for j, name in enumerate(names):
        p = data.param_specs[name]
        raw = [data.configs[i].get(name) for i in rows]
        out[:, j] = unit_scale(p, raw)
    return names, out


def unit_scale(p: dict[str, Any], raw: list[Any]) -> np.ndarray:
    """Values of one parameter on [0, 1] (see `normalized_params`); NaN where absent."""
    kind = p.get("type")
    if kind in ("float", "int"):
        x = np.asarray([np.nan if v is None else float(v) for v in raw], dtype=float)
        lo, hi = float(p["low"]), float(p["high"])
        if p.get("log"):
            x, lo, hi = np.log(x), math.log(lo), math.log(hi)
        return (x - lo) / (hi - lo) if hi > lo else np.full(len(raw), 0.5)
    values = [False, True] if kind == "bool" else list(p.get("values", []))
    if len(values) <= 1:
        return np.asarray([np.nan if v is None else 0.5 for v in raw], dtype=float)
    index = {_key(v): i for i, v in enumerate(values)}
    return np.asarray([np.nan if v is None or _key(v) not in index else index[_key(v)] / (len(values) - 1)
                       for v in raw], dtype=float)


def _key(value: Any) -> tuple[str, Any]:
    """Hashable, type-aware key: True and 1 are different choices."""
    return (type(value).__name__, value if not isinstance(value, (list, dict)) else repr(value))


def choice_labels(p: dict[str, Any]) -> list[str] | None:
    """Tick labels of a categorical axis, or None for a numeric parameter."""
    if p.get("type") == "bool":
        return ["false", "true"]
    if p.get("type") in ("choice", "ordinal"):
        return [str(v) for v in p.get("values", [])]
    return None
