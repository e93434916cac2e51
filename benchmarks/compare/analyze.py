"""Analyse peer-comparison runs: regret curves, time to target, ranks and plain-language answers.

Why: run_compare.py leaves one CSV (records) and one JSON (summary) per run; a user deciding
between rung and its peers needs the runs reduced to a few robust numbers with their
uncertainty, and an honest statement of where rung loses. Everything here is computed from those
files only (pure numpy/pandas/matplotlib), deterministically for a given ``--seed``.

Usage (from the repository root)::

    .venv/bin/python benchmarks/compare/analyze.py [--results benchmarks/results/compare]
        [--out benchmarks/results/compare/summary] [--baseline rung-random-asha]
        [--regret max|any] [--bootstrap 1000] [--seed 0] [--grid 200]

Definitions (also written at the top of report.md):

* group: (benchmark, workers, clock), clock "simulated" or "charged" (decision time added to
  the simulated clock). The benchmark is the results sub-directory's name. Within a group only
  the seeds every method has are used (the report counts the runs set aside).
* regret curve: the run's regret (``regret_max``: best value seen at the maximum resource, what a
  user would deploy; or ``regret_any`` with ``--regret any``) as a step function of simulated
  time, sampled on ``--grid`` points over [0, budget]. Before the run's first regret value the
  curve is 1.0 (the normalised regret of having nothing to deploy). A run that ended "idle"
  before the budget keeps its last value up to the budget.
* final regret: the curve's value at the budget (1.0 if the run never reached the maximum).
* IQM: interquartile mean, the mean of the middle 50% after trimming int(n/4) runs from each
  end (scipy.stats.trim_mean(x, 0.25), the rliable convention); for n < 4 it is the mean.
* bootstrap: percentile bootstrap over seeds (seeds resampled with replacement, each method
  independently), nearest-rank 2.5%/97.5% percentiles so infinite replicates need no
  interpolation.
* target: the median (numpy) final regret of the baseline in the group; none if the group has
  no baseline run (regret only is reported then).
* time to target of a run: first simulated time its regret (a real value, never the 1.0
  filler) is <= target; inf if never.
* median time to target: a median that tolerates inf: finite iff at least half the seeds reach
  the target (with an even count and exactly half reaching, the larger finite middle value);
  so it is inf iff more than half the seeds never reach. The baseline always reaches its own
  target in at least half its seeds.
* factor: baseline's median time to target / method's median time (> 1 = faster than the
  baseline); 0 if the method's median is inf, inf if only the baseline's is inf, undefined if
  both are. Its CI resamples the method's and the baseline's seeds (target held fixed).
* first to target (per benchmark): the method(s) with the smallest finite median time to target;
  tied methods all count as first.
* fastest method (per workers x clock): highest median over benchmarks of its factor (same
  inf-tolerant median; undefined factors skipped); ties broken by benchmarks first, then average
  time-to-target rank, then average final-regret rank. Without any target: best average
  final-regret rank.
* rung's methods are those named ``rung-*``; all others are peers.
* machines: the ``machine`` each run's JSON records (run_compare.machine(); "not recorded" for
  older runs). Counted per (workers, clock); in the charged clock, where decision time is part of
  the result, a seed whose methods ran on different machines is flagged in the report. Where a
  (workers, clock) has runs from several machines, the report gives each machine's decision time
  relative to the machine that made the most runs (ask_time_ratios), so mixed ask ms can be read.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results" / "compare"
BASELINE = "rung-random-asha"
RUNG_PREFIX = "rung-"
BEFORE_FIRST = 1.0  # regret before a run has any value (nothing to deploy yet)
CLOCKS = ("simulated", "charged")
LEVEL = 0.95
NOT_RECORDED = "not recorded"
STEM = re.compile(r"^(?P<method>.+)_w(?P<workers>\d+)_s(?P<seed>-?\d+)(?P<charged>_charged)?$")


# --------------------------------------------------------------------------- loading


@dataclass
class Run:
    """One run: its identity, JSON metadata and the (time, regret) records that carry a regret."""

    benchmark: str
    method: str
    workers: int
    seed: int
    clock: str
    budget: float
    ended: str
    end_time: float
    trials: int
    ask_ms: float
    tell_ms: float
    times: np.ndarray
    regret: np.ndarray
    machine: str = NOT_RECORDED  # run_compare.machine(); runs made before it was recorded lack it
    # rung's runs: the library versions behind their decisions (method_info.libraries); rung's .venv
    # is not pinned like a peer's env, so the report says which versions made each cell
    libraries: str = NOT_RECORDED


def load_runs(results: Path, regret: str = "max", skip: Path | None = None) -> list[Run]:
    """Every ``<results>/<benchmark>/<method>_w<W>_s<S>[_charged].json`` with its CSV.

    Why JSON-first: the JSON has the budget, how the run ended and the decision times; the CSV
    has the curve. The file name is the fallback for the identity, the last record's time for a
    missing budget. ``skip`` (the output folder) is never read.
    """
    col = f"regret_{regret}"
    runs: list[Run] = []
    skip = skip.resolve() if skip is not None else None
    for js in sorted(Path(results).glob("*/*.json")):
        if skip is not None and js.parent.resolve() == skip:
            continue
        m = STEM.match(js.stem)
        csv = js.with_suffix(".csv")
        if not m or not csv.exists():
            continue
        try:
            meta = json.loads(js.read_text())
        except json.JSONDecodeError:
            print(f"analyze: skipping unreadable {js}", file=sys.stderr)
            continue
        df = pd.read_csv(csv)
        if col not in df.columns or "time" not in df.columns:
            print(f"analyze: skipping {csv} (no {col} column)", file=sys.stderr)
            continue
        df = df[["time", col]].dropna().sort_values("time", kind="stable")
        times = df["time"].to_numpy(float)
        values = df[col].to_numpy(float)
        charged = meta.get("charged", bool(m["charged"]))
        budget = meta.get("budget")
        if budget is None:
            budget = float(times[-1]) if times.size else 0.0
        runs.append(Run(
            benchmark=js.parent.name, method=str(meta.get("method", m["method"])),
            workers=int(meta.get("workers", m["workers"])), seed=int(meta.get("seed", m["seed"])),
            clock="charged" if charged else "simulated", budget=float(budget),
            ended=str(meta.get("ended", "")), end_time=float(meta.get("end_time", budget) or 0.0),
            trials=int(meta.get("trials", 0) or 0), ask_ms=float(meta.get("ask_ms_mean", math.nan)),
            tell_ms=float(meta.get("tell_ms_mean", math.nan)), times=times, regret=values,
            machine=str(meta.get("machine") or NOT_RECORDED),
            libraries=str((meta.get("method_info") or {}).get("libraries") or NOT_RECORDED)))
    return runs


# --------------------------------------------------------------------------- statistics


def iqm(x: np.ndarray | Sequence[float], axis: int = -1) -> np.ndarray | float:
    """Interquartile mean: mean after trimming int(n/4) values from each end.

    Why: robust to a few lucky/unlucky seeds yet uses more data than the median (rliable,
    Agarwal et al. 2021); identical to scipy.stats.trim_mean(x, 0.25).
    """
    s = np.sort(np.asarray(x, float), axis=axis)
    n = s.shape[axis]
    if n == 0:
        return math.nan
    k = int(0.25 * n)
    out = np.take(s, np.arange(k, n - k), axis=axis).mean(axis=axis)
    return float(out) if np.ndim(out) == 0 else out


def _sorted(x: np.ndarray | Sequence[float], axis: int) -> np.ndarray:
    """Sorted along ``axis``; 1-D input drops NaN first (order statistics need no NaN)."""
    a = np.asarray(x, float)
    if a.ndim == 1:
        a = a[~np.isnan(a)]
    return np.sort(a, axis=axis)


def median_inf(x: np.ndarray | Sequence[float], axis: int = -1) -> np.ndarray | float:
    """Median that tolerates +inf: with an even count whose upper middle value is inf, the lower.

    Why: times to target are inf for seeds that never reach it; the plain median would make the
    median inf as soon as half the seeds fail. This one is finite iff at least half are finite
    (inf iff more than half never reach) and equals numpy's median on finite data. Values must
    not be NaN (1-D input: NaN values are dropped).
    """
    s = _sorted(x, axis)
    n = s.shape[axis]
    if n == 0:
        return math.nan
    hi = np.take(s, n // 2, axis=axis)
    if n % 2:
        out = hi
    else:
        lo = np.take(s, n // 2 - 1, axis=axis)
        with np.errstate(invalid="ignore"):
            out = np.where(np.isfinite(hi), (lo + hi) / 2, lo)
    return float(out) if np.ndim(out) == 0 else out


def speedup(t_base: np.ndarray | float, t_method: np.ndarray | float) -> np.ndarray | float:
    """Factor baseline time / method time (> 1 = method faster), defined for inf and 0 too.

    Why explicit: a method that never reaches the target is infinitely slow (factor 0), one that
    reaches it where the baseline does not is infinitely fast (inf); both never: NaN.
    """
    tb = np.asarray(t_base, float)
    tm = np.asarray(t_method, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(np.isfinite(tb) & np.isfinite(tm),
                       np.where(tm > 0, tb / np.where(tm > 0, tm, 1.0), np.where(tb > 0, np.inf, 1.0)),
                       np.where(np.isfinite(tb), 0.0, np.where(np.isfinite(tm), np.inf, np.nan)))
    return float(out) if out.ndim == 0 else out


def percentile_ci(samples: np.ndarray, level: float = LEVEL, axis: int = 0) -> tuple:
    """Nearest-rank percentile interval of bootstrap replicates along ``axis``.

    Why nearest-rank: replicates may be inf (a resample where no seed reaches the target);
    picking order statistics needs no arithmetic on them. 1-D input drops NaN replicates.
    """
    s = _sorted(samples, axis)
    m = s.shape[axis]
    if m == 0:
        return math.nan, math.nan
    alpha = (1.0 - level) / 2
    i_lo = int(math.floor(alpha * (m - 1) + 0.5))
    i_hi = int(math.floor((1 - alpha) * (m - 1) + 0.5))
    lo, hi = np.take(s, i_lo, axis=axis), np.take(s, i_hi, axis=axis)
    if np.ndim(lo) == 0:
        return float(lo), float(hi)
    return lo, hi


def rng_for(seed: int, *key: object) -> np.random.Generator:
    """A generator determined by ``seed`` and a stable key (group and method).

    Why: each bootstrap gets its own stream, so results do not depend on the order in which
    groups and methods are processed or on which other methods are present.
    """
    h = zlib.crc32("|".join(map(str, key)).encode())
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, h])


def bootstrap_iqm_band(curves: np.ndarray, n_boot: int, rng: np.random.Generator,
                       level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """Percentile-bootstrap band of the IQM curve, resampling the rows (seeds) with replacement.

    Why chunked: the replicates are n_boot x seeds x grid; chunks keep memory bounded.
    """
    n, g = curves.shape
    if n_boot <= 0 or n == 0:
        return np.full(g, np.nan), np.full(g, np.nan)
    reps = np.empty((n_boot, g))
    chunk = max(1, 2_000_000 // max(1, n * g))
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        idx = rng.integers(0, n, size=(b, n))
        reps[start:start + b] = iqm(curves[idx], axis=1)
    return percentile_ci(reps, level, axis=0)


def bootstrap_factor(t_base: np.ndarray, t_method: np.ndarray, n_boot: int, rng: np.random.Generator,
                     same: bool = False, level: float = LEVEL) -> tuple[float, float]:
    """CI of speedup(median_inf(baseline times), median_inf(method times)) over seed resamples.

    ``same``: the method is the baseline, so both sides use one resample (factor exactly 1).
    """
    nb, nm = len(t_base), len(t_method)
    if n_boot <= 0 or nb == 0 or nm == 0:
        return math.nan, math.nan
    ib = rng.integers(0, nb, size=(n_boot, nb))
    im = ib if same else rng.integers(0, nm, size=(n_boot, nm))
    mb = median_inf(np.asarray(t_base, float)[ib], axis=1)
    mm = median_inf(np.asarray(t_method, float)[im], axis=1)
    return percentile_ci(speedup(mb, mm), level)


# --------------------------------------------------------------------------- per run


def curve_on_grid(times: np.ndarray, regret: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The run's regret step function (right-continuous) on ``grid``; BEFORE_FIRST before any value.

    Why a step function: the regret only changes when a result arrives; after the last result
    (budget reached, or the method went idle) it holds its last value.
    """
    times = np.asarray(times, float)
    regret = np.asarray(regret, float)
    i = np.searchsorted(times, grid, side="right") - 1
    out = np.full(len(grid), BEFORE_FIRST)
    ok = i >= 0
    out[ok] = regret[i[ok]]
    return out


def time_to_target(times: np.ndarray, regret: np.ndarray, target: float) -> float:
    """First simulated time with a (real) regret <= target; inf if never (same as harness.time_to)."""
    if math.isnan(target):
        return math.nan
    hit = np.nonzero(np.asarray(regret, float) <= target)[0]
    return float(np.asarray(times, float)[hit[0]]) if hit.size else math.inf


# --------------------------------------------------------------------------- analysis


@dataclass
class Analysis:
    """All tables and curves, kept together for the report and the figures."""

    summary: pd.DataFrame
    ranks: pd.DataFrame
    curves: pd.DataFrame
    grids: dict = field(default_factory=dict)  # (benchmark, workers, clock) -> grid
    bands: dict = field(default_factory=dict)  # (benchmark, workers, clock, method) -> dict of arrays
    targets: dict = field(default_factory=dict)  # (benchmark, workers, clock) -> target or nan
    # (benchmark, workers, clock) -> runs left out because not every method has their seed yet
    unbalanced: dict = field(default_factory=dict)
    # (workers, clock) -> {machine: runs counted}; the CPU sets the ask times, and in the charged clock the results
    machines: dict = field(default_factory=dict)
    # (benchmark, workers, clock) -> {seed: machines}: charged-clock seeds whose methods ran on different machines
    mixed: dict = field(default_factory=dict)
    # (workers, clock) -> ask_time_ratios() of the runs counted there, where they come from several machines
    ask_ratios: dict = field(default_factory=dict)
    # (workers, clock) -> {libraries: rung runs counted}: the versions behind rung's decisions there
    libraries: dict = field(default_factory=dict)
    baseline: str = BASELINE
    regret: str = "max"
    n_boot: int = 1000
    seed: int = 0


def is_rung(method: str) -> bool:
    """rung's own methods are named rung-*; everything else is a peer."""
    return method.startswith(RUNG_PREFIX)


def analyze(runs: Sequence[Run], baseline: str = BASELINE, n_boot: int = 1000, seed: int = 0,
            grid_points: int = 200, regret: str = "max") -> Analysis:
    """Per group and method: curves, final regret, time to target, factor, overhead; then ranks."""
    groups: dict[tuple[str, int, str], dict[str, list[Run]]] = {}
    for r in runs:
        groups.setdefault((r.benchmark, r.workers, r.clock), {}).setdefault(r.method, []).append(r)
    rows: list[dict] = []
    curve_rows: list[pd.DataFrame] = []
    out = Analysis(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), baseline=baseline, regret=regret,
                   n_boot=n_boot, seed=seed)
    cell_runs: dict[tuple[int, str], list[Run]] = {}
    for gkey in sorted(groups, key=lambda k: (k[1], CLOCKS.index(k[2]) if k[2] in CLOCKS else 9, k[0])):
        bench, workers, clock = gkey
        # Every method is compared on the same seeds: a suite stopped part-way leaves some
        # methods a seed ahead, and their extra runs would tilt medians and the target.
        common = set.intersection(*({r.seed for r in rs} for rs in groups[gkey].values()))
        extra = sum(r.seed not in common for rs in groups[gkey].values() for r in rs)
        if extra:
            out.unbalanced[gkey] = extra
        if not common:
            continue
        by_method = {m: sorted((r for r in rs if r.seed in common), key=lambda r: r.seed)
                     for m, rs in groups[gkey].items()}
        counted = out.machines.setdefault((workers, clock), {})
        per_seed: dict[int, set[str]] = {}
        for r in (r for rs in by_method.values() for r in rs):
            counted[r.machine] = counted.get(r.machine, 0) + 1
            cell_runs.setdefault((workers, clock), []).append(r)
            per_seed.setdefault(r.seed, set()).add(r.machine)
            if is_rung(r.method):
                libs = out.libraries.setdefault((workers, clock), {})
                libs[r.libraries] = libs.get(r.libraries, 0) + 1
        if clock == "charged":  # decision time is part of the result: one seed's methods must share a CPU
            mixed = {sd: sorted(ms) for sd, ms in per_seed.items() if len(ms) > 1}
            if mixed:
                out.mixed[gkey] = mixed
        budget = max(r.budget for rs in by_method.values() for r in rs)
        grid = np.linspace(0.0, budget, grid_points)
        out.grids[gkey] = grid
        mats = {m: np.array([curve_on_grid(r.times, r.regret, grid) for r in rs]) for m, rs in by_method.items()}
        target = float(np.median(mats[baseline][:, -1])) if baseline in mats else math.nan
        out.targets[gkey] = target
        has_target = not math.isnan(target)
        base_times = (np.array([time_to_target(r.times, r.regret, target) for r in by_method[baseline]])
                      if has_target else np.array([]))
        base_med = median_inf(base_times) if has_target else math.nan
        for m in sorted(by_method):
            rs, mat = by_method[m], mats[m]
            rng = rng_for(seed, bench, workers, clock, m)
            lo, hi = bootstrap_iqm_band(mat, n_boot, rng)
            c_iqm = np.asarray(iqm(mat, axis=0))
            c_med = np.median(mat, axis=0)
            out.bands[gkey + (m,)] = {"time": grid, "iqm": c_iqm, "median": c_med, "lo": lo, "hi": hi}
            curve_rows.append(pd.DataFrame({"benchmark": bench, "workers": workers, "clock": clock, "method": m,
                                            "time": grid, "iqm": c_iqm, "median": c_med, "lo": lo, "hi": hi}))
            finals = mat[:, -1]
            if has_target:
                times = np.array([time_to_target(r.times, r.regret, target) for r in rs])
                t_med = median_inf(times)
                reached = float(np.mean(np.isfinite(times)))
                factor = speedup(base_med, t_med)
                f_lo, f_hi = bootstrap_factor(base_times, times, n_boot, rng, same=(m == baseline))
            else:
                t_med = reached = factor = f_lo = f_hi = math.nan
            ask = np.array([r.ask_ms for r in rs], float)
            tell = np.array([r.tell_ms for r in rs], float)
            rows.append({
                "benchmark": bench, "workers": workers, "clock": clock, "method": m,
                "family": "rung" if is_rung(m) else "peer", "is_baseline": m == baseline,
                "seeds": len(rs), "idle_runs": sum(r.ended == "idle" for r in rs), "budget": budget,
                "trials_median": float(np.median([r.trials for r in rs])),
                "target": target, "baseline_ttt_median": base_med,
                "final_median": float(np.median(finals)), "final_iqm": float(iqm(finals)),
                "final_iqm_lo": float(lo[-1]), "final_iqm_hi": float(hi[-1]),
                "ttt_median": t_med, "reached_frac": reached,
                "factor": factor, "factor_lo": f_lo, "factor_hi": f_hi,
                "ask_ms_mean": _nanmean(ask), "ask_ms_median": _nanmedian(ask),
                "tell_ms_mean": _nanmean(tell), "tell_ms_median": _nanmedian(tell),
            })
    summary = pd.DataFrame(rows)
    if not summary.empty:
        gcols = ["benchmark", "workers", "clock"]
        summary["rank_final"] = summary.groupby(gcols)["final_iqm"].rank(method="average")
        summary["rank_time"] = summary.groupby(gcols)["ttt_median"].rank(method="average")
        best = summary.groupby(gcols)["ttt_median"].transform("min")
        summary["first_to_target"] = np.isfinite(summary["ttt_median"]) & (summary["ttt_median"] == best)
    out.summary = summary
    out.curves = pd.concat(curve_rows, ignore_index=True) if curve_rows else pd.DataFrame(
        columns=["benchmark", "workers", "clock", "method", "time", "iqm", "median", "lo", "hi"])
    out.ranks = average_ranks(summary, baseline)
    for cell, rs in cell_runs.items():
        ratios = ask_time_ratios(rs)
        if ratios is not None:
            out.ask_ratios[cell] = ratios
    return out


def ask_time_ratios(runs: Sequence[Run]) -> dict | None:
    """How long each machine's decisions took, relative to the machine that made the most runs.

    Why: ask ms depend on the CPU, so a table whose runs come from several machines mixes speeds,
    and a reader needs to know by how much. Each run on another machine is paired with the
    reference machine's runs of the same benchmark, workers, clock and method: its ratio is its
    mean ask time over the median of theirs. Returns None when the runs come from one machine,
    else ``{"reference": machine, "machines": {machine: {"median": x, "runs": n,
    "by_method": {method: median ratio}}}}`` (a machine with no run to pair has no entry).
    """
    counts: dict[str, int] = {}
    for r in runs:
        counts[r.machine] = counts.get(r.machine, 0) + 1
    if len(counts) < 2:
        return None
    reference = min(counts, key=lambda m: (-counts[m], m))
    ref_asks: dict[tuple, list[float]] = {}
    for r in runs:
        if r.machine == reference and math.isfinite(r.ask_ms):
            ref_asks.setdefault((r.benchmark, r.workers, r.clock, r.method), []).append(r.ask_ms)
    per_machine: dict[str, dict[str, list[float]]] = {}
    for r in runs:
        ref = ref_asks.get((r.benchmark, r.workers, r.clock, r.method))
        if r.machine == reference or not ref or not math.isfinite(r.ask_ms):
            continue
        base = float(np.median(ref))
        if base > 0:
            per_machine.setdefault(r.machine, {}).setdefault(r.method, []).append(r.ask_ms / base)
    machines = {m: {"median": float(np.median([x for xs in by.values() for x in xs])),
                    "runs": sum(len(xs) for xs in by.values()),
                    "by_method": {meth: float(np.median(xs)) for meth, xs in sorted(by.items())}}
                for m, by in sorted(per_machine.items())}
    return {"reference": reference, "machines": machines}


def _nanmean(a: np.ndarray) -> float:
    a = a[~np.isnan(a)]
    return float(a.mean()) if a.size else math.nan


def _nanmedian(a: np.ndarray) -> float:
    a = a[~np.isnan(a)]
    return float(np.median(a)) if a.size else math.nan


def average_ranks(summary: pd.DataFrame, baseline: str = BASELINE) -> pd.DataFrame:
    """Per (workers, clock, method): average ranks over benchmarks, firsts, median factor.

    Why ranks: regrets are not comparable across benchmarks, ranks are. A method's averages run
    over the benchmarks it was run on (n_bench_*); ties share the average rank.
    """
    cols = ["workers", "clock", "method", "family", "avg_rank_final", "n_bench_final", "avg_rank_time",
            "n_bench_time", "first_count", "median_factor", "final_iqm_median", "ask_ms_mean", "tell_ms_mean"]
    if summary.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for (w, c, m), sub in summary.groupby(["workers", "clock", "method"], sort=False):
        with_t = sub[sub["target"].notna()]
        rows.append({
            "workers": w, "clock": c, "method": m, "family": "rung" if is_rung(m) else "peer",
            "avg_rank_final": sub["rank_final"].mean(), "n_bench_final": len(sub),
            "avg_rank_time": with_t["rank_time"].mean() if len(with_t) else math.nan,
            "n_bench_time": len(with_t), "first_count": int(with_t["first_to_target"].sum()),
            "median_factor": median_inf(with_t["factor"].to_numpy(float)) if len(with_t) else math.nan,
            "final_iqm_median": float(sub["final_iqm"].median()),
            "ask_ms_mean": _nanmean(sub["ask_ms_mean"].to_numpy(float)),
            "tell_ms_mean": _nanmean(sub["tell_ms_mean"].to_numpy(float)),
        })
    ranks = pd.DataFrame(rows, columns=cols)
    order = []
    for (w, c), sub in ranks.groupby(["workers", "clock"], sort=False):
        order.extend(sub.loc[method_order(sub)].index)
    ranks = ranks.loc[order].reset_index(drop=True)
    ranks.insert(3, "position", ranks.groupby(["workers", "clock"]).cumcount() + 1)
    return ranks


def method_order(ranks_wc: pd.DataFrame) -> list:
    """Index labels of one (workers, clock) ranks table, best first (the "fastest method" rule).

    Highest median factor (undefined last), then most benchmarks first, then lower average
    time rank, then lower average final-regret rank, then name. Without any target the time
    keys are all undefined, so the final-regret rank decides.
    """
    def key(i: object) -> tuple:
        r = ranks_wc.loc[i]
        f = r["median_factor"]
        return (0 if not math.isnan(f) else 1, -f if not math.isnan(f) else 0.0, -r["first_count"],
                _nan_last(r["avg_rank_time"]), _nan_last(r["avg_rank_final"]), r["method"])
    return sorted(ranks_wc.index, key=key)


def _nan_last(x: float) -> float:
    return math.inf if x is None or math.isnan(x) else float(x)


# --------------------------------------------------------------------------- report


def fmt(x: float, digits: int = 3) -> str:
    """Compact number: '–' undefined, 'never' for an infinite time (callers pick), else %.3g."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.{digits}g}"


def fmt_time(t: float) -> str:
    """Seconds, or 'never' for inf (more than half the seeds never reach)."""
    if t is None or math.isnan(t):
        return "–"
    return "never" if math.isinf(t) else f"{t:.4g}"


def fmt_secs(t: float) -> str:
    """:func:`fmt_time` with its unit: '40 s', 'never' (no unit), '–'."""
    text = fmt_time(t)
    return text if text in ("never", "–") else f"{text} s"


def fmt_factor(f: float) -> str:
    if f is None or math.isnan(f):
        return "–"
    return "inf" if math.isinf(f) else f"{f:.2f}x"


def _wc_label(w: int, c: str) -> str:
    return f"{w} workers, {c} clock"


def answer_lines(an: Analysis, workers: int, clock: str) -> list[str]:
    """Plain-language answers for one (workers, clock): who is fastest, by how much, where rung loses."""
    s = an.summary[(an.summary["workers"] == workers) & (an.summary["clock"] == clock)]
    rk = an.ranks[(an.ranks["workers"] == workers) & (an.ranks["clock"] == clock)].reset_index(drop=True)
    benches = sorted(s["benchmark"].unique())
    with_t = sorted(s.loc[s["target"].notna(), "benchmark"].unique())
    no_t = [b for b in benches if b not in with_t]
    lines: list[str] = []
    if no_t:
        lines.append(f"- No {an.baseline} runs on {', '.join(no_t)}: no target there, final regret only.")
    if rk.empty:
        return lines
    best = rk.iloc[0]
    n_all = len(benches)

    def cover(r: pd.Series) -> str:
        return f" (run on only {r['n_bench_final']} of {n_all} benchmarks)" if r["n_bench_final"] < n_all else ""

    if with_t:
        lines.append(
            f"- **Fastest to the target** (highest median over the {len(with_t)} benchmark(s) with a target of "
            f"the factor vs {an.baseline}): **{best['method']}**, median factor {fmt_factor(best['median_factor'])} "
            f"vs {an.baseline}; first to the target on {best['first_count']}/{best['n_bench_time']} benchmark(s)"
            f"{cover(best)}.")
        if len(rk) > 1:
            ru = rk.iloc[1]
            f_ru = _median_pair_factor(s, ru["method"], best["method"])
            vs = (f"{best['method']} reaches the target {fmt_factor(f_ru)} as fast as {ru['method']} (median over "
                  f"common benchmarks of {ru['method']}'s median time / {best['method']}'s)" if not math.isnan(f_ru)
                  else "no common benchmark where either reaches the target, so no factor between them")
            lines.append(f"- Runner-up: {ru['method']} (median factor {fmt_factor(ru['median_factor'])} vs "
                         f"{an.baseline}){cover(ru)}; {vs}.")
        most = rk.sort_values(["first_count", "position"], ascending=[False, True]).iloc[0]
        if most["method"] != best["method"] and most["first_count"] > 0:
            lines.append(f"- Most often first to the target: {most['method']} "
                         f"({most['first_count']}/{most['n_bench_time']} benchmark(s)).")
        elif most["first_count"] == 0:
            lines.append("- No method is first on any benchmark (no median reaches the target).")
        else:
            lines.append(f"- {best['method']} is also the method most often first to the target.")
    else:
        lines.append(f"- No target in this setting (no {an.baseline} runs): best by average final-regret "
                     f"rank is **{best['method']}** (avg rank {fmt(best['avg_rank_final'])}){cover(best)}.")
    low = rk.sort_values(["avg_rank_final", "position"]).iloc[0]
    lines.append(f"- Lowest final regret (best average rank of the final-regret IQM): {low['method']} "
                 f"(avg rank {fmt(low['avg_rank_final'])} over {low['n_bench_final']} of {n_all} benchmark(s)).")
    lines.extend(rung_vs_peer_lines(an, s, rk))
    return lines


def _median_pair_factor(s: pd.DataFrame, slow: str, fast: str) -> float:
    """Median over benchmarks (both present, with target) of slow's median time / fast's."""
    a = s[(s["method"] == slow) & s["target"].notna()].set_index("benchmark")["ttt_median"]
    b = s[(s["method"] == fast) & s["target"].notna()].set_index("benchmark")["ttt_median"]
    common = a.index.intersection(b.index)
    if len(common) == 0:
        return math.nan
    return median_inf(np.atleast_1d(speedup(a[common].to_numpy(float), b[common].to_numpy(float))))


def _pick(rows: pd.DataFrame) -> pd.Series:
    """Best row of one benchmark's rows: smallest median time to target, then final-regret IQM."""
    key = rows.assign(_t=rows["ttt_median"].fillna(math.inf)).sort_values(["_t", "final_iqm", "method"])
    return key.iloc[0]


TIME_TIE = 0.01  # relative difference of median times to target under which two methods tie


def _loss_text(bench: str, r: pd.Series, p: pd.Series) -> str | None:
    """'Where rung loses' text for rung row r vs peer row p on one benchmark, or None if rung doesn't lose."""
    d = r["final_iqm"] - p["final_iqm"]
    reg = (f"final regret IQM {fmt(p['final_iqm'])} ({p['method']}) vs {fmt(r['final_iqm'])} ({r['method']}), "
           f"{r['method']} {'+' if d >= 0 else ''}{fmt(d)}")
    has_t = not math.isnan(r["target"])
    if has_t:
        f = speedup(r["ttt_median"], p["ttt_median"])  # > 1: peer faster
        # Times within TIME_TIE of each other are a tie (the simulated clock makes exact ties
        # common: the first training to reach the maximum resource ends at the same moment for
        # every method that started it first); a tie is decided by final regret below.
        if not math.isnan(f) and f > 1 + TIME_TIE:
            how = ("reaches the target while " + r["method"] + " never does (median)" if math.isinf(f)
                   else f"reaches the target {f:.2f}x faster than {r['method']}")
            return (f"{bench}: {p['method']} {how} ({fmt_secs(p['ttt_median'])} vs "
                    f"{fmt_secs(r['ttt_median'])}); {reg}.")
        if d > 0:
            if math.isinf(r["ttt_median"]) and math.isinf(p["ttt_median"]):
                return f"{bench}: neither reaches the target (median) and {r['method']} ends worse: {reg}."
            return (f"{bench}: {r['method']} is as fast or faster to the target ({fmt_secs(r['ttt_median'])} vs "
                    f"{fmt_secs(p['ttt_median'])}) but ends worse: {reg}.")
        return None
    if d > 0:
        return f"{bench} (no target): {reg}."
    return None


def rung_vs_peer_lines(an: Analysis, s: pd.DataFrame, rk: pd.DataFrame) -> list[str]:
    """Rung's best method vs the best peer (both by the fastest-method rule), per benchmark.

    Rung loses on a benchmark if the peer's median time to target is shorter, or if it is no
    slower and its final-regret IQM is lower (regret only where there is no target). A second
    line does the same with the best rung and best peer method picked per benchmark.
    """
    rung = rk[rk["family"] == "rung"]
    peer = rk[rk["family"] == "peer"]
    if rung.empty or peer.empty:
        return [f"- Rung vs peers: no {'peer' if peer.empty else 'rung'} methods in this setting, no comparison."]
    R, P = rung.iloc[0]["method"], peer.iloc[0]["method"]
    lines = [f"- Rung vs peers: rung's best method here is {R}, the best peer {P} (same rule as fastest)."]
    losses, missing = [], []
    for bench in sorted(s["benchmark"].unique()):
        sb = s[s["benchmark"] == bench]
        rr, pp = sb[sb["method"] == R], sb[sb["method"] == P]
        if rr.empty or pp.empty:
            missing.append(bench)
            continue
        t = _loss_text(bench, rr.iloc[0], pp.iloc[0])
        if t:
            losses.append(t)
    if losses:
        lines.append(f"- **Where rung loses** ({R} vs {P}), on {len(losses)} benchmark(s):")
        lines.extend(f"  - {t}" for t in losses)
    else:
        lines.append(f"- {R} is not beaten by {P} on any benchmark (time to target, or final regret at equal time).")
    if missing:
        lines.append(f"- Not compared (one of them not run): {', '.join(missing)}.")
    oracle = []
    for bench in sorted(s["benchmark"].unique()):
        sb = s[s["benchmark"] == bench]
        rr, pp = sb[sb["family"] == "rung"], sb[sb["family"] == "peer"]
        if rr.empty or pp.empty:
            continue
        t = _loss_text(bench, _pick(rr), _pick(pp))
        if t:
            oracle.append(t)
    if oracle:
        lines.append(f"- Even with rung's best method picked per benchmark, rung loses to the best peer there on "
                     f"{len(oracle)} benchmark(s):")
        lines.extend(f"  - {t}" for t in oracle)
    else:
        lines.append("- With rung's best method picked per benchmark, rung is not beaten by any peer.")
    return lines


DEFINITIONS = """\
Definitions: regret = {regret_desc}; a run's curve is 1.0 before its first value and holds its last
value to the budget (also when it ended idle). IQM = mean after trimming int(n/4) seeds at each end;
[lo, hi] = 95% percentile bootstrap over seeds ({n_boot} resamples, seed {seed}). Target = median final
regret of {baseline} in the same benchmark/workers/clock. Time to target = first simulated time the
regret is <= target; its median over seeds is "never" iff more than half the seeds never reach it.
Factor = {baseline}'s median time / the method's (> 1 = faster; 0 = never reaches). "First" = smallest
median time on a benchmark (ties all count). Fastest = highest median factor over benchmarks. Ranks:
1 = best, ties averaged, averaged over the benchmarks the method ran on. rung-* are rung's methods,
the others peers. ask/tell ms = real milliseconds per decision (mean over runs of each run's mean).
Within a benchmark/workers/clock, every method is compared on the seeds all of them have. Machines =
the CPU each run recorded ("not recorded" for runs made before runs recorded it); in the charged clock
a seed whose methods ran on different machines is flagged. Decision time by machine = per run on
another machine, its mean ask ms over the median of the most-used machine's runs of the same
benchmark and method; the median of those ratios, and its range over methods."""


def _left_out_lines(workers: int, clock: str) -> list[str]:
    """The runs run_compare's suites leave out for their cost here, so a missing method is explained."""
    try:
        from run_compare import SKIP
    except ImportError:  # analyze.py used on its own, away from the harness
        return []
    return [f"- Left out by the suite: {why}." for (method, c), (counts, why) in SKIP.items()
            if c == clock and workers in counts]


def _unbalanced_lines(an: Analysis, workers: int, clock: str) -> list[str]:
    """Runs set aside because their seed is not done for every method of their benchmark."""
    held = {b: n for (b, w, c), n in an.unbalanced.items() if w == workers and c == clock}
    if not held:
        return []
    return ["- Not counted yet (their seed is not finished for every method of the benchmark, and every "
            "method is compared on the same seeds): " + ", ".join(f"{n} run(s) on {b}" for b, n in sorted(held.items()))
            + "."]


def _machine_lines(an: Analysis, workers: int, clock: str) -> list[str]:
    """Which machines made the runs counted here, and any charged-clock seed split across machines."""
    counted = an.machines.get((workers, clock), {})
    if not counted:
        return []
    depends = ", and in the charged clock so do the results" if clock == "charged" else "; pure-clock results do not"
    made = [f"{n} run(s) whose machine was not recorded (made before runs recorded it)" if m == NOT_RECORDED
            else f"{n} run(s) on {m}" for m, n in sorted(counted.items(), key=lambda kv: -kv[1])]
    lines = [f"- Machines (ask ms depends on the CPU{depends}): " + "; ".join(made) + "."]
    mixed = [f"{b} seed {sd} ({' / '.join(ms)})" for (b, w, c), sds in sorted(an.mixed.items())
             if w == workers and c == clock for sd, ms in sorted(sds.items())]
    if mixed:
        lines.append("- **Mixed machines within a seed** (its methods' decision times were charged on different "
                     "CPUs, so their comparison is tilted; redo the seed on one machine): " + ", ".join(mixed) + ".")
    ratios = an.ask_ratios.get((workers, clock))
    if ratios and ratios["machines"]:
        ref = ratios["reference"]
        ref_name = "the runs whose machine was not recorded" if ref == NOT_RECORDED else ref
        parts = []
        for m, d in ratios["machines"].items():
            name = "runs whose machine was not recorded" if m == NOT_RECORDED else m
            by = list(d["by_method"].values())
            spread = f"; {fmt_factor(min(by))}-{fmt_factor(max(by))} by method" if len(by) > 1 else ""
            parts.append(f"{name}: {fmt_factor(d['median'])} (median over {d['runs']} run(s){spread})")
        lines.append(f"- Decision time by machine (a run's mean ask ms over the median of {ref_name} for the same "
                     "benchmark and method): " + "; ".join(parts) + ".")
    return lines


def _library_lines(an: Analysis, workers: int, clock: str) -> list[str]:
    """The library versions behind rung's runs counted here (a peer's are pinned in envs/<peer>.txt)."""
    counted = an.libraries.get((workers, clock), {})
    if not counted:
        return []
    made = [f"{n} run(s) made before runs recorded them" if libs == NOT_RECORDED else f"{n} run(s) with {libs}"
            for libs, n in sorted(counted.items(), key=lambda kv: (kv[0] == NOT_RECORDED, -kv[1], kv[0]))]
    return ["- rung's libraries (rung's .venv is not pinned like a peer's env): " + "; ".join(made) + "."]


def report_markdown(an: Analysis) -> str:
    """report.md: definitions, then per (workers, clock) the ranks table, answers, per-benchmark table."""
    desc = ("best value seen at the maximum resource (what a user would deploy)" if an.regret == "max"
            else "best value seen at any resource")
    out = ["# Peer comparison: rung vs peers", "",
           DEFINITIONS.format(regret_desc=desc, n_boot=an.n_boot, seed=an.seed, baseline=an.baseline), ""]
    s = an.summary
    if s.empty:
        out.append("No runs found.")
        return "\n".join(out) + "\n"
    wcs = sorted({(w, c) for w, c in zip(s["workers"], s["clock"])},
                 key=lambda k: (k[0], CLOCKS.index(k[1]) if k[1] in CLOCKS else 9, k[1]))
    for w, c in wcs:
        sw = s[(s["workers"] == w) & (s["clock"] == c)]
        rk = an.ranks[(an.ranks["workers"] == w) & (an.ranks["clock"] == c)]
        benches = sorted(sw["benchmark"].unique())
        out += [f"## {_wc_label(w, c)} ({len(benches)} benchmark(s): {', '.join(benches)})", "",
                "| method | avg rank (final regret) | avg rank (time to target) | first to target | "
                f"median factor vs {an.baseline} | final regret IQM (median over benchmarks) | ask ms | tell ms |",
                "|---|---|---|---|---|---|---|---|"]
        for _, r in rk.iterrows():
            first = f"{r['first_count']}/{r['n_bench_time']}" if r["n_bench_time"] else "–"
            out.append(f"| {r['method']} | {fmt(r['avg_rank_final'])} | {fmt(r['avg_rank_time'])} | {first} | "
                       f"{fmt_factor(r['median_factor'])} | {fmt(r['final_iqm_median'])} | "
                       f"{fmt(r['ask_ms_mean'])} | {fmt(r['tell_ms_mean'])} |")
        out += ["", *answer_lines(an, w, c), *_left_out_lines(w, c), *_unbalanced_lines(an, w, c),
                *_machine_lines(an, w, c), *_library_lines(an, w, c), ""]
        out += ["| benchmark | method | seeds (idle) | target | final regret median | final regret IQM [95% CI] "
                "| time to target median (s) | reached | factor [95% CI] | ask ms mean/median | tell ms mean/median |",
                "|---|---|---|---|---|---|---|---|---|---|---|"]
        for bench in benches:
            sb = sw[sw["benchmark"] == bench].assign(_t=lambda d: d["ttt_median"].fillna(math.inf))
            sb = sb.sort_values(["_t", "final_iqm", "method"])
            for _, r in sb.iterrows():
                tgt = fmt(r["target"]) if not math.isnan(r["target"]) else "none (no baseline)"
                reached = f"{r['reached_frac']:.0%}" if not math.isnan(r["reached_frac"]) else "–"
                fci = (f"{fmt_factor(r['factor'])} [{fmt_factor(r['factor_lo'])}, {fmt_factor(r['factor_hi'])}]"
                       if not math.isnan(r["target"]) else "–")
                out.append(
                    f"| {bench} | {r['method']} | {r['seeds']} ({r['idle_runs']}) | {tgt} | {fmt(r['final_median'])} | "
                    f"{fmt(r['final_iqm'])} [{fmt(r['final_iqm_lo'])}, {fmt(r['final_iqm_hi'])}] | "
                    f"{fmt_time(r['ttt_median'])} | {reached} | {fci} | "
                    f"{fmt(r['ask_ms_mean'])}/{fmt(r['ask_ms_median'])} | {fmt(r['tell_ms_mean'])}/{fmt(r['tell_ms_median'])} |")
        few = sw[sw["seeds"] < 3]
        if len(few):
            out.append("")
            if len(few) == len(sw) and few["seeds"].nunique() == 1:  # say it once, not per pair
                n = int(few["seeds"].iloc[0])
                out.append(f"Few seeds: every method/benchmark pair here has {n} seed(s), so intervals are "
                           "wide or degenerate.")
            else:
                out.append("Few seeds (< 3), intervals are wide or degenerate: " + ", ".join(
                    f"{b}/{m} ({n})" for b, m, n in zip(few["benchmark"], few["method"], few["seeds"])) + ".")
        out.append("")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- figures


def method_colors(methods: Iterable[str], baseline: str = BASELINE) -> dict[str, tuple]:
    """One stable colour per method across all figures; the baseline is black."""
    ms = sorted(set(methods))
    cmap = plt.get_cmap("tab10" if len(ms) <= 10 else "tab20")
    colors, i = {}, 0
    for m in ms:
        if m == baseline:
            colors[m] = (0.0, 0.0, 0.0, 1.0)
        else:
            colors[m] = cmap(i % cmap.N)
            i += 1
    return colors


def _floor(values: Iterable[np.ndarray]) -> float:
    pos = [v[v > 0].min() for v in values if np.any(v > 0)]
    return max(min(pos) / 2, 1e-12) if pos else 1e-6


def _legend_below(fig: plt.Figure, handles: list, labels: list[str]) -> None:
    """A figure legend under the axes, as many columns as the figure's width allows (saved with a tight box)."""
    ncol = max(1, min(len(labels), int(fig.get_figwidth() // 1.9)))
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=ncol, fontsize=8, frameon=False)


def plot_curves(an: Analysis, workers: int, clock: str, path: Path, colors: dict[str, tuple]) -> Path:
    """One subplot per benchmark: IQM regret vs simulated time (log y), bootstrap band, dashed target."""
    s = an.summary[(an.summary["workers"] == workers) & (an.summary["clock"] == clock)]
    benches = sorted(s["benchmark"].unique())
    ncols = min(3, len(benches))
    nrows = math.ceil(len(benches) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 3.8 * nrows), squeeze=False)
    handles: dict[str, object] = {}
    for ax, bench in zip(axes.flat, benches):
        gkey = (bench, workers, clock)
        methods = sorted(s.loc[s["benchmark"] == bench, "method"])
        bands = [an.bands[gkey + (m,)] for m in methods]
        floor = _floor([b[k] for b in bands for k in ("iqm", "lo", "hi")])
        for m, b in zip(methods, bands):
            lw = 2.2 if m == an.baseline else 1.5
            (h,) = ax.plot(b["time"], np.maximum(b["iqm"], floor), color=colors[m], lw=lw,
                           label=m)
            ax.fill_between(b["time"], np.maximum(b["lo"], floor), np.maximum(b["hi"], floor),
                            color=colors[m], alpha=0.15, lw=0)
            handles[m] = h
        target = an.targets[gkey]
        if not math.isnan(target):
            ax.axhline(max(target, floor), color="0.3", ls="--", lw=1.0)
            title = f"{bench} (target {fmt(target)})"
        else:
            title = f"{bench} (no baseline: no target)"
        if any(np.any(b["iqm"] <= 0) for b in bands):
            title += f"; regret 0 drawn at {fmt(floor, 2)}"
        ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("simulated time (s)")
        ax.set_ylabel(f"regret ({an.regret}), IQM")
        ax.grid(True, which="major", alpha=0.3)
    for ax in list(axes.flat)[len(benches):]:
        ax.axis("off")
    order = sorted(handles, key=lambda m: (not is_rung(m), m))
    fig.suptitle(f"{_wc_label(workers, clock)}: regret IQM over seeds, 95% bootstrap band, dashed = target",
                 fontsize=10)
    fig.tight_layout()
    _legend_below(fig, [handles[m] for m in order], order)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def rank_over_time(an: Analysis, workers: int, clock: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Average rank of each method's IQM curve over benchmarks, on the fraction-of-budget grid.

    Why fractions: budgets may differ between benchmarks; every group's grid has the same
    number of points over [0, budget], so point i is the same fraction everywhere.
    """
    s = an.summary[(an.summary["workers"] == workers) & (an.summary["clock"] == clock)]
    sums: dict[str, np.ndarray] = {}
    counts: dict[str, np.ndarray] = {}
    frac = None
    for bench in sorted(s["benchmark"].unique()):
        gkey = (bench, workers, clock)
        methods = sorted(s.loc[s["benchmark"] == bench, "method"])
        mat = np.array([an.bands[gkey + (m,)]["iqm"] for m in methods])
        frac = np.linspace(0, 1, mat.shape[1])
        ranks = pd.DataFrame(mat).rank(axis=0, method="average").to_numpy()
        for m, rr in zip(methods, ranks):
            sums[m] = sums.get(m, 0) + rr
            counts[m] = counts.get(m, 0) + 1
    return (frac if frac is not None else np.array([])), {m: sums[m] / counts[m] for m in sums}


def plot_rank_over_time(an: Analysis, clock: str, path: Path, colors: dict[str, tuple]) -> Path | None:
    """Per clock, one subplot per worker count: average rank (over benchmarks) of the IQM curve vs time."""
    s = an.summary[an.summary["clock"] == clock]
    ws = sorted(s["workers"].unique())
    if not ws:
        return None
    fig, axes = plt.subplots(1, len(ws), figsize=(5.5 * len(ws), 4.0), squeeze=False)
    handles: dict[str, object] = {}
    for ax, w in zip(axes.flat, ws):
        frac, avg = rank_over_time(an, int(w), clock)
        for m in sorted(avg, key=lambda m: (not is_rung(m), m)):
            (h,) = ax.plot(frac, avg[m], color=colors[m], lw=2.2 if m == an.baseline else 1.5, label=m)
            handles[m] = h
        nb = s.loc[s["workers"] == w, "benchmark"].nunique()
        ax.set_title(f"{w} workers ({nb} benchmark(s))", fontsize=10)
        ax.set_xlabel("fraction of the budget (simulated time)")
        ax.set_ylabel("average rank of regret IQM (1 = best)")
        ax.invert_yaxis()
        ax.grid(True, alpha=0.3)
    order = sorted(handles, key=lambda m: (not is_rung(m), m))
    fig.suptitle(f"{clock} clock: average rank over benchmarks through time", fontsize=10)
    fig.tight_layout()
    _legend_below(fig, [handles[m] for m in order], order)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


# --------------------------------------------------------------------------- outputs


def write_outputs(an: Analysis, out: Path) -> dict[str, Path]:
    """summary.csv, ranks.csv, curves.csv, report.md and the PNGs into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"summary": out / "summary.csv", "ranks": out / "ranks.csv", "curves": out / "curves.csv",
             "report": out / "report.md"}
    an.summary.to_csv(paths["summary"], index=False, float_format="%.6g")
    an.ranks.to_csv(paths["ranks"], index=False, float_format="%.6g")
    an.curves.to_csv(paths["curves"], index=False, float_format="%.6g")
    paths["report"].write_text(report_markdown(an))
    if not an.summary.empty:
        colors = method_colors(an.summary["method"], an.baseline)
        wcs = sorted({(int(w), c) for w, c in zip(an.summary["workers"], an.summary["clock"])})
        for w, c in wcs:
            paths[f"curves_w{w}_{c}"] = plot_curves(an, w, c, out / f"curves_w{w}_{c}.png", colors)
        for c in sorted(set(an.summary["clock"])):
            p = plot_rank_over_time(an, c, out / f"rank_over_time_{c}.png", colors)
            if p is not None:
                paths[f"rank_over_time_{c}"] = p
    return paths


def run_analysis(results: Path = RESULTS, out: Path | None = None, baseline: str = BASELINE, regret: str = "max",
                 n_boot: int = 1000, seed: int = 0, grid_points: int = 200) -> tuple[Analysis, str]:
    """Load, analyse, write everything; returns the analysis and report.md's text."""
    out = Path(out) if out is not None else Path(results) / "summary"
    runs = load_runs(Path(results), regret, skip=out)
    an = analyze(runs, baseline=baseline, n_boot=n_boot, seed=seed, grid_points=grid_points, regret=regret)
    paths = write_outputs(an, out)
    return an, paths["report"].read_text()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, default=RESULTS, help="folder of <benchmark>/<run>.csv/.json")
    ap.add_argument("--out", type=Path, default=None, help="output folder (default: <results>/summary)")
    ap.add_argument("--baseline", default=BASELINE, help="method whose median final regret is the target")
    ap.add_argument("--regret", choices=["max", "any"], default="max",
                    help="regret_max (best at the maximum resource) or regret_any (any fidelity)")
    ap.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (0: no intervals)")
    ap.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    ap.add_argument("--grid", type=int, default=200, help="points of the common time grid")
    args = ap.parse_args(argv)
    if args.grid < 2:
        ap.error("--grid must be >= 2")
    _, report = run_analysis(args.results, args.out, args.baseline, args.regret, args.bootstrap, args.seed, args.grid)
    print(report)


if __name__ == "__main__":
    main()
