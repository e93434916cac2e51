"""What fantasies of pending evaluations change in the GP searcher's acquisition, at 32 workers.

MOBSTER averages expected improvement (EI) over joint posterior samples ("fantasies") of the
evaluations still running. For a Gaussian process, conditioning on a sampled outcome moves the
posterior mean and shrinks the variance, and averaged over the samples the two cancel exactly:
the predictive distribution of f(x) is the mixture of the conditioned ones (law of total
expectation). With the incumbent fixed, the fantasy average of EI is therefore plain EI up to
Monte Carlo error; fantasies change the acquisition only through the incumbent, i.e. through
pending evaluations *at the acquisition level* whose sampled outcome beats the best
observation. Under promotion-type ASHA most running evaluations are at lower rungs than the
acquisition level (the highest rung with enough data).

This script runs one simulated GP search on the LCBench surrogate (the setting of
``bench_searchers.py --tag fantasies``) and, at every model-based proposal with evaluations
pending, scores the random candidate pool three ways:

- ``default``: the searcher's own acquisition (20 fantasy samples);
- ``plain``: EI without fantasies;
- ``many``: EI averaged over 2,000 fantasy samples (proposals with no pending evaluation at the
  acquisition level only), to check the cancellation above numerically.

It prints, over proposals: pending evaluations and how many of them are at the acquisition
level; how often the default's best candidate is plain EI's best candidate and the rank
correlation of the two; and the largest |EI_many / EI_plain - 1| over the top candidates.

Usage (from the repository root; needs ../shared/benchmarks/yahpo/lcbench or RUNG_LCBENCH_DIR)::

    python benchmarks/bench_fantasy_effect.py --tasks 3945 34539 --seed 0
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_searchers import RESULTS, experiment, task_budget  # noqa: E402
from benchmarks.machine import machine_info  # noqa: E402

MANY = 2000
TOP = 20  # candidates compared in the numerical check: the ones that can win


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def measure(task: str, seed: int, workers: int, budget: float) -> list[dict[str, Any]]:
    """One GP search; a record per model-based proposal made while evaluations were pending."""
    from orchestrator.runner import start
    from orchestrator.searchers import acquisition, gp

    records: list[dict[str, Any]] = []
    rng = np.random.default_rng(seed)
    original = acquisition.log_ei

    def recording(model: Any, X: np.ndarray, best: float, fantasies: Any) -> np.ndarray:
        scores = original(model, X, best, fantasies)
        if fantasies is None or len(X) < 100:  # only the random candidate pool, not local moves
            return scores
        plain = original(model, X, best, None)
        rec = {"pending": int(fantasies.X.shape[0]), "at_level": int(fantasies.at_level.sum()),
               "same_best": bool(np.argmax(scores) == np.argmax(plain)), "rank_corr": _spearman(scores, plain)}
        if rec["at_level"] == 0:
            many = acquisition.sample_fantasies(model, fantasies.X.numpy(), fantasies.at_level.numpy(), MANY, rng)
            top = np.argsort(-plain)[:TOP]
            ratio = np.exp(original(model, X[top], best, many) - plain[top])
            rec["many_vs_plain_max_rel"] = float(np.max(np.abs(ratio - 1.0)))
        records.append(rec)
        return scores

    gp.log_ei = recording
    try:
        exp = experiment(task, {"type": "gp"}, workers, seed, {"wall_seconds": budget, "trials": 100_000})
        with tempfile.TemporaryDirectory() as tmp:
            start(exp, Path(tmp) / "run")
    finally:
        gp.log_ei = original
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["3945"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--budget-scale", type=float, default=0.5)
    parser.add_argument("--calibrate-trials", type=int, default=300)
    args = parser.parse_args()
    out: dict[str, Any] = {"machine": machine_info(), "command": " ".join(["python"] + sys.argv), "tasks": {}}
    print("| task | proposals | pending (mean) | at the acquisition level (mean) | proposals with none there "
          "| same best candidate as plain EI | rank correlation (median) | max |EI_2000/EI_plain - 1|, top 20 (median) |")
    print("|---|---|---|---|---|---|---|---|")
    for task in args.tasks:
        recs = measure(task, args.seed, args.workers, task_budget(task, args.calibrate_trials) * args.budget_scale)
        none_there = [r for r in recs if r["at_level"] == 0]
        row = {
            "proposals": len(recs),
            "pending_mean": float(np.mean([r["pending"] for r in recs])),
            "at_level_mean": float(np.mean([r["at_level"] for r in recs])),
            "share_none_at_level": len(none_there) / len(recs),
            "same_best_share": float(np.mean([r["same_best"] for r in recs])),
            "rank_corr_median": float(np.median([r["rank_corr"] for r in recs])),
            "many_vs_plain_median": float(np.median([r["many_vs_plain_max_rel"] for r in none_there])) if none_there else None,
        }
        out["tasks"][task] = row
        many = f"{row['many_vs_plain_median']:.3f}" if none_there else "-"
        print(f"| {task} | {row['proposals']} | {row['pending_mean']:.1f} | {row['at_level_mean']:.1f} "
              f"| {row['share_none_at_level']:.0%} | {row['same_best_share']:.0%} | {row['rank_corr_median']:.3f} | {many} |",
              flush=True)
    path = RESULTS / "fantasy_effect.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
