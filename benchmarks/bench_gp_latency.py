"""GP suggestion latency vs the amount of data: rung's MOBSTER searcher beside Optuna's GPSampler.

For each data size N (observations), in one process:

- rung ``gp`` (default options, LCBench space, rung levels 1-3-9-27-52): N results spread over the
  rungs the way asynchronous successive halving produces them (about 2/3 at the lowest rung, a
  third of those at the next, ...), ``--pending`` evaluations running (8, all at rung 3; more,
  e.g. 255 for a 256-worker search, spread over the lowest three rungs). Then ``--suggestions``
  rounds of ``suggest`` followed by one new observation each, so hyperparameter re-fits happen on
  their normal schedule (every ``refit_every`` = 10 observations, past 500 every ``refit_growth``
  = 2% growth of the data); p50, p95 and mean of the suggestion time (the mean carries the
  re-fits' share), and the mean time of the suggestions that re-fitted.
- Optuna ``GPSampler`` (its defaults, seed 0) on a study of N completed trials over the same
  space (Optuna's GP has no resource input; its data is one value per trial): time of one
  ``ask`` with all parameters sampled, median of ``--optuna-repeats`` (fewer once a minute
  is spent).

Usage (from the repository root)::

    python benchmarks/bench_gp_latency.py                       # N = 1000 and 5000
    python benchmarks/bench_gp_latency.py --sizes 100 1000 5000 --optuna-sizes 100 1000
    python benchmarks/bench_gp_latency.py --sizes 1000 5000 --pending 255 --optuna-sizes 0   # rung only

Writes benchmarks/results/gp_latency.json and prints a markdown table.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import machine_info  # noqa: E402

LEVELS = (1, 3, 9, 27, 52)


def objective(x: np.ndarray, r: float) -> float:
    return float(np.sin(5 * x[0]) + ((x[1:] - 0.3) ** 2).sum() + 0.5 / r)


def asha_like_history(n: int, space: Any, rng: np.random.Generator) -> list[tuple[int, dict, float, float]]:
    """(trial, config, resource, value) rows, n in all, shaped like ASHA's rung occupancy."""
    rows: list[tuple[int, dict, float, float]] = []
    trial = 0
    while len(rows) < n:
        config = space.sample(rng)
        x = space.encode(config)
        depth = 1
        while depth < len(LEVELS) and rng.random() < 1 / 3:
            depth += 1
        for r in LEVELS[:depth]:
            if len(rows) < n:
                rows.append((trial, config, float(r), objective(x, r)))
        trial += 1
    return rows


def rung_gp(n: int, suggestions: int, n_pending: int = 8) -> dict[str, Any]:
    from orchestrator.searchers import Pending, make_searcher
    from spaces import Space
    from trainables.blackboxes.lcbench import LCBENCH_SPACE

    space = Space.from_dict(LCBENCH_SPACE)
    searcher = make_searcher("gp", space, "min", {}, levels=LEVELS)
    rng = np.random.default_rng(0)
    history = asha_like_history(n + suggestions, space, rng)
    for trial, config, r, v in history[:n]:
        if trial not in searcher.configs:
            searcher.register(trial, config)
        searcher.observe(trial, config, r, v)
    spread = n_pending > 8  # a large search has evaluations running at every low rung
    pending = [Pending(10**6 + i, space.sample(rng), LEVELS[i % 3] if spread else 3) for i in range(n_pending)]
    times, refit_times = [], []
    for i in range(suggestions):
        fits = searcher.fitter.fits
        t0 = time.perf_counter()
        config = searcher.suggest(pending, np.random.default_rng([0, i]))
        dt = (time.perf_counter() - t0) * 1e3
        (refit_times if searcher.fitter.fits > fits else times).append(dt)
        trial, c, r, v = history[n + i]
        searcher.register(trial, c)
        searcher.observe(trial, c, r, v)
        assert config is not None
    every = times + refit_times
    return {"observations": n, "suggestions": suggestions, "pending": n_pending,
            "p50_ms": float(np.median(every)),
            "mean_ms": float(np.mean(every)),
            "p95_ms": float(np.quantile(every, 0.95)), "no_refit_p50_ms": float(np.median(times)) if times else None,
            "refits": len(refit_times), "refit_mean_ms": float(np.mean(refit_times)) if refit_times else None,
            "points_modelled": min(n, searcher.max_points)}


def optuna_gp(n: int, repeats: int) -> dict[str, Any]:
    import optuna
    from optuna.distributions import FloatDistribution, IntDistribution
    from optuna.trial import TrialState, create_trial

    from trainables.blackboxes.lcbench import LCBENCH_SPACE

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    dists = {k: (IntDistribution(v["low"], v["high"], log=v.get("log", False)) if v["type"] == "int"
                 else FloatDistribution(v["low"], v["high"], log=v.get("log", False)))
             for k, v in LCBENCH_SPACE.items()}
    rng = np.random.default_rng(0)
    trials = []
    for _ in range(n):
        params = {k: (int(rng.integers(d.low, d.high + 1)) if isinstance(d, IntDistribution)
                      else float(np.exp(rng.uniform(np.log(d.low), np.log(d.high))) if d.log
                                 else rng.uniform(d.low, d.high))) for k, d in dists.items()}
        x = np.array([(np.log(p) - np.log(d.low)) / (np.log(d.high) - np.log(d.low)) if d.log
                      else (p - d.low) / (d.high - d.low) for p, d in zip(params.values(), dists.values())])
        trials.append(create_trial(state=TrialState.COMPLETE, value=objective(x, 52), params=params,
                                   distributions=dists))
    times: list[float] = []
    for i in range(repeats):
        if sum(times) > 60_000:  # a minute spent already: one more repeat says little more
            break
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study = optuna.create_study(sampler=optuna.samplers.GPSampler(seed=i))
        study.add_trials(trials)
        t0 = time.perf_counter()
        trial = study.ask()
        for k, d in dists.items():
            if isinstance(d, IntDistribution):
                trial.suggest_int(k, d.low, d.high, log=d.log)
            else:
                trial.suggest_float(k, d.low, d.high, log=d.log)
        times.append((time.perf_counter() - t0) * 1e3)
    return {"observations": n, "repeats": repeats, "p50_ms": statistics.median(times), "all_ms": times}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[1000, 5000])
    parser.add_argument("--optuna-sizes", nargs="+", type=int, default=None, help="default: --sizes; 0: none")
    parser.add_argument("--suggestions", type=int, default=40)
    parser.add_argument("--pending", type=int, default=8, help="evaluations running during each suggestion")
    parser.add_argument("--optuna-repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "gp_latency.json")
    args = parser.parse_args()
    import torch

    rows = []
    for n in args.sizes:
        rows.append({"rung": rung_gp(n, args.suggestions, args.pending)})
        print(f"rung gp, {n} observations: {rows[-1]['rung']}", flush=True)
    for row, n in zip(rows, args.sizes):
        if n in (args.optuna_sizes or args.sizes):
            row["optuna"] = optuna_gp(n, args.optuna_repeats)
            print(f"optuna GPSampler, {n} trials: {row['optuna']}", flush=True)
    result = {"machine": machine_info(), "torch_threads_optuna": torch.get_num_threads(),
              "command": " ".join(["python benchmarks/bench_gp_latency.py"] + sys.argv[1:]), "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    m = result["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, {m['date']}")
    print("| observations | pending | rung gp p50 ms | p95 ms | mean ms | p50 without re-fit ms "
          "| re-fit mean ms (count) | points modelled | Optuna GPSampler ask ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        g, o = row["rung"], row.get("optuna")
        refit = f"{g['refit_mean_ms']:.0f} ({g['refits']})" if g["refits"] else "-"
        optuna = f"{o['p50_ms']:.0f}" if o else "-"
        print(f"| {g['observations']} | {g['pending']} | {g['p50_ms']:.1f} | {g['p95_ms']:.1f} | {g['mean_ms']:.1f} "
              f"| {g['no_refit_p50_ms']:.1f} | {refit} | {g['points_modelled']} | {optuna} |")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
