"""Searcher quality on the YAHPO LCBench surrogate: random (ASHA) vs GP (MOBSTER) vs TPE.

Every method runs the same simulated search: LCBench task, 8 virtual workers, asynchronous
successive halving of the promotion type (epochs 1-52, reduction factor 3), and the same budget
of *simulated* time per task. The budget of a task is the simulated time random + ASHA needs for
``--calibrate-trials`` trials with seed 0, so random search runs a few hundred trials in it.

Reported per method, over tasks x seeds:

- median normalized regret vs simulated time with the inter-quartile band (PNG); regret is
  ``(best val_error so far - task optimum) / task scale`` with YAHPO's per-task statistics, the
  best so far taken over every reported result (any epoch), as MOBSTER's and Syne Tune's plots do;
- final regret (median and IQR);
- time to reach random + ASHA's final best: per (task, seed), the first simulated time the
  method's best so far is at least as good as random's final best, divided by the time random
  itself took to get there (``speedup = t_random / t_method``, 0 when never reached); median
  over runs. Also the same read off the median curves (time the method's median regret curve
  first reaches random's final median regret).

Each run writes one JSON file under ``benchmarks/results/searchers/<tag>/`` (runs already there
are skipped, so an interrupted benchmark continues); ``--report`` aggregates them into
``summary.json``, ``curves.csv`` and ``regret.png`` in the same folder and prints markdown.

Usage (from the repository root; needs ../shared/benchmarks/yahpo/lcbench or RUNG_LCBENCH_DIR)::

    python benchmarks/bench_searchers.py --tag main --methods random gp tpe   # seeds 0-9
    python benchmarks/bench_searchers.py --tag fantasies --workers 32 --budget-scale 0.5 \\
        --methods gp gp-nofantasies --seeds 0 1 2
    python benchmarks/bench_searchers.py --tag main --report
    python benchmarks/bench_searchers.py --tag fantasies --report --baseline random --pair gp gp-nofantasies
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import machine_info  # noqa: E402

TASKS = ["3945", "7593", "34539", "126025", "126026"]  # the first five of YAHPO's LCBench order
METHODS: dict[str, dict[str, Any]] = {
    "random": {"type": "random"},
    "gp": {"type": "gp"},
    "gp-nofantasies": {"type": "gp", "fantasize": False},
    "gp-expdecay": {"type": "gp", "kernel": "expdecay"},
    "gp-refit10pct": {"type": "gp", "refit_growth": 0.1},  # sparser re-fits: the default's trade-off
    "tpe": {"type": "tpe"},
}
RESULTS = ROOT / "benchmarks" / "results" / "searchers"


def experiment(task: str, searcher: dict[str, Any], workers: int, seed: int, stop: dict[str, Any]) -> Any:
    from orchestrator.experiment import from_dict

    return from_dict({
        "name": f"lcbench-{task}", "metric": "val_error", "mode": "min",
        "resource": {"name": "epoch", "min": 1, "max": 52, "reduction_factor": 3},
        "scheduler": {"type": "promotion", "brackets": 1}, "searcher": searcher, "stop": stop,
        "workers": workers, "seed": seed,
        "trainable": {"blackbox": "trainables.blackboxes:lcbench", "args": {"task": task, "metric": "val_error"}},
        "executor": {"type": "simulated"}, "space": {"include": "lcbench"},
    }, source="bench_searchers", base_dir=ROOT / "examples")


def calibrate(task: str, trials: int) -> float:
    """Simulated seconds random + ASHA (8 workers, seed 0) needs for ``trials`` trials."""
    from orchestrator.runner import start
    from orchestrator.summary import summarize

    with tempfile.TemporaryDirectory() as tmp:
        start(experiment(task, {"type": "random"}, 8, 0, {"trials": trials}), Path(tmp) / "run")
        return float(summarize(Path(tmp) / "run")["elapsed_seconds"])


def run_one(task: str, method: str, seed: int, workers: int, budget: float) -> dict[str, Any]:
    from orchestrator.export import results_frame
    from orchestrator.runner import start
    from orchestrator.summary import summarize
    from trainables.blackboxes.lcbench import lcbench

    bb = lcbench(task=task, metric="val_error")
    exp = experiment(task, METHODS[method], workers, seed, {"wall_seconds": budget, "trials": 100_000})
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        start(exp, Path(tmp) / "run")
        wall = time.perf_counter() - t0
        s = summarize(Path(tmp) / "run")
        df = results_frame(Path(tmp) / "run").sort_values("time", kind="stable")
    best = np.minimum.accumulate(df["val_error"].to_numpy())
    times = df["time"].to_numpy()
    keep = np.r_[True, best[1:] < best[:-1]]  # the steps of the best-so-far curve
    return {
        "task": task, "method": method, "seed": seed, "workers": workers, "budget": budget,
        "optimum": bb.optimum, "scale": bb.regret_scale,
        "curve_time": times[keep].tolist(), "curve_best": best[keep].tolist(),
        "final_best": float(best[-1]), "trials": s["trials"]["total"], "wall_seconds": wall,
        "suggest_ms_p50": s["overhead"]["suggest_ms_p50"], "suggest_ms_p95": s["overhead"]["suggest_ms_p95"],
    }


def task_budget(task: str, trials: int) -> float:
    """The task's full budget: random + ASHA's simulated time for ``trials`` trials, calibrated
    once and kept in ``results/searchers/budgets.json`` so every method and later run shares it."""
    budgets_file = RESULTS / "budgets.json"
    budgets = json.loads(budgets_file.read_text()) if budgets_file.exists() else {}
    key = f"{task}:{trials}"
    if key not in budgets:
        budgets[key] = calibrate(task, trials)
        RESULTS.mkdir(parents=True, exist_ok=True)
        budgets_file.write_text(json.dumps(budgets, indent=2) + "\n")
    return float(budgets[key])


def run(args: argparse.Namespace) -> None:
    out = RESULTS / args.tag
    out.mkdir(parents=True, exist_ok=True)
    budgets = {task: task_budget(task, args.calibrate_trials) for task in args.tasks}
    for seed in args.seeds:
        for task in args.tasks:
            for method in args.methods:
                path = out / f"{method}-{task}-{seed}.json"
                if path.exists():
                    continue
                budget = budgets[task] * args.budget_scale
                r = run_one(task, method, seed, args.workers, budget)
                path.write_text(json.dumps(r) + "\n")
                print(f"{method:>15} task {task:>6} seed {seed}: {r['trials']:4d} trials, final regret "
                      f"{(r['final_best'] - r['optimum']) / r['scale']:.4f}, wall {r['wall_seconds']:.1f} s, "
                      f"suggest p50 {r['suggest_ms_p50']:.1f} ms", flush=True)


def _regret_on_grid(r: dict[str, Any], grid: np.ndarray) -> np.ndarray:
    t, b = np.asarray(r["curve_time"]), np.asarray(r["curve_best"])
    idx = np.searchsorted(t, grid * r["budget"], side="right") - 1
    out = np.full(len(grid), np.nan)
    out[idx >= 0] = (b[idx[idx >= 0]] - r["optimum"]) / r["scale"]
    return np.where(np.isnan(out), 1.0, out)  # nothing reported yet: regret 1 (the task's worst)


def _reach_time(r: dict[str, Any], target: float) -> float:
    """First simulated time (fraction of the budget) the best so far is <= target; inf if never."""
    for t, b in zip(r["curve_time"], r["curve_best"]):
        if b <= target + 1e-12:
            return t / r["budget"]
    return float("inf")


def report(args: argparse.Namespace) -> None:
    out = RESULTS / args.tag
    runs = [json.loads(p.read_text()) for p in sorted(out.glob("*-*-*.json"))]
    present = {r["method"] for r in runs}
    methods = [m for m in METHODS if m in present] + sorted(present - set(METHODS))
    by = {(r["method"], r["task"], r["seed"]): r for r in runs}
    grid = np.linspace(0.0, 1.0, 201)[1:]
    curves = {m: np.array([_regret_on_grid(r, grid) for r in runs if r["method"] == m]) for m in methods}
    baseline = args.baseline if args.baseline in methods else methods[0]
    summary: dict[str, Any] = {"machine": machine_info(), "tag": args.tag, "baseline": baseline,
                               "command": " ".join(["python benchmarks/bench_searchers.py"] + sys.argv[1:]),
                               "methods": {}}
    base_final_med = float(np.median(curves[baseline][:, -1]))
    base_curve = np.median(curves[baseline], axis=0)
    base_reach = grid[np.argmax(base_curve <= base_final_med + 1e-12)]
    for m in methods:
        mine = [r for r in runs if r["method"] == m]
        finals = curves[m][:, -1]
        ratios, reach = [], []
        for r in mine:
            b = by.get((baseline, r["task"], r["seed"]))
            if b is None:
                continue
            t_base = _reach_time(b, b["final_best"])
            t_mine = _reach_time(r, b["final_best"])
            ratios.append(t_base / t_mine if np.isfinite(t_mine) and t_mine > 0 else 0.0)
            reach.append(t_mine)
        med = np.median(curves[m], axis=0)
        reached = np.flatnonzero(med <= base_final_med + 1e-12)
        curve_reach = float(grid[reached[0]]) if len(reached) else float("inf")
        summary["methods"][m] = {
            "runs": len(mine),
            "final_regret_median": float(np.median(finals)),
            "final_regret_q25": float(np.quantile(finals, 0.25)),
            "final_regret_q75": float(np.quantile(finals, 0.75)),
            "speedup_median_per_run": float(np.median(ratios)) if ratios else None,
            "reached_baseline_final": int(sum(x > 0 for x in ratios)),
            "reach_fraction_median": float(np.median(reach)) if reach else None,  # inf: never
            # the headline reading: the baseline's median time to its own final best over the
            # method's median time to the baseline's final best (the same per-seed targets)
            "speedup_median_time": None,
            "median_curve_reach_fraction": curve_reach,
            "median_curve_speedup": float(base_reach / curve_reach) if np.isfinite(curve_reach) else 0.0,
            "trials_median": float(np.median([r["trials"] for r in mine])),
            "wall_seconds_median": float(np.median([r["wall_seconds"] for r in mine])),
            "suggest_ms_p50_median": float(np.median([r["suggest_ms_p50"] for r in mine])),
        }
    base_med = summary["methods"][baseline]["reach_fraction_median"]
    for s_m in summary["methods"].values():
        t = s_m["reach_fraction_median"]
        s_m["speedup_median_time"] = float(base_med / t) if t and np.isfinite(t) and base_med else 0.0
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    with open(out / "curves.csv", "w") as f:
        f.write("method,budget_fraction,regret_median,regret_q25,regret_q75\n")
        for m in methods:
            q25, q50, q75 = np.quantile(curves[m], [0.25, 0.5, 0.75], axis=0)
            for g, a, b, c in zip(grid, q50, q25, q75):
                f.write(f"{m},{g:.3f},{a:.6g},{b:.6g},{c:.6g}\n")
    _plot(out / "regret.png", grid, curves, args.tag)
    tasks = sorted({r["task"] for r in runs})
    seeds = sorted({r["seed"] for r in runs})
    calibrated = json.loads((RESULTS / "budgets.json").read_text()).get(f"{runs[0]['task']}:{args.calibrate_trials}")
    scale = f"{runs[0]['budget'] / calibrated:.2f}" if calibrated else "?"
    print(f"tasks {', '.join(tasks)}; seeds {seeds}; workers {runs[0]['workers']}; budget = "
          f"{scale} x random's time for {args.calibrate_trials} trials")
    print(f"| method | runs | final regret median [IQR] | time to {baseline}'s final best, median (fraction of budget) "
          f"| speedup of the median time | speedup vs {baseline}'s own time, median per run | runs reaching it "
          f"| median-curve speedup | trials (median) | suggest p50 ms | wall s per run |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for m, s in summary["methods"].items():
        sp = "-" if s["speedup_median_per_run"] is None else f"{s['speedup_median_per_run']:.2f}x"
        print(f"| {m} | {s['runs']} | {s['final_regret_median']:.4f} [{s['final_regret_q25']:.4f}, "
              f"{s['final_regret_q75']:.4f}] | {s['reach_fraction_median']:.2f} | {s['speedup_median_time']:.2f}x | {sp} | "
              f"{s['reached_baseline_final']}/{s['runs']} | "
              f"{s['median_curve_speedup']:.2f}x | {s['trials_median']:.0f} | {s['suggest_ms_p50_median']:.1f} | "
              f"{s['wall_seconds_median']:.1f} |")
    print()
    print("| task | budget (simulated s) | " + " | ".join(f"{m} final regret (median)" for m in methods)
          + " | " + " | ".join(f"{m} time to {baseline}'s final best (median)" for m in methods) + " |")
    print("|---|---|" + "---|" * (2 * len(methods)))
    summary["tasks"] = {}
    for task in tasks:
        row = {m: [r for r in runs if r["method"] == m and r["task"] == task] for m in methods}
        finals = {m: float(np.median([(r["final_best"] - r["optimum"]) / r["scale"] for r in rs])) for m, rs in row.items()}
        reach = {}
        for m, rs in row.items():
            times = [_reach_time(r, by[(baseline, task, r["seed"])]["final_best"]) for r in rs
                     if (baseline, task, r["seed"]) in by]
            reach[m] = float(np.median(times)) if times else float("nan")
        summary["tasks"][task] = {"final_regret_median": finals, "reach_fraction_median": reach}
        budget = next(r["budget"] for r in runs if r["task"] == task)
        print(f"| {task} | {budget:.0f} | " + " | ".join(f"{finals[m]:.4f}" for m in methods) + " | "
              + " | ".join(f"{reach[m]:.2f}" for m in methods) + " |")
    for a, b in args.pair:
        summary.setdefault("pairs", {})[f"{a} vs {b}"] = pair = _paired(by, baseline, a, b)
        print(f"\n{a} vs {b}, same task and seed ({pair['pairs']} pairs; two-sided sign test, ties left out): "
              f"lower final regret in {pair['final_lower']}, higher in {pair['final_higher']} "
              f"(p = {pair['final_p']:.2f}); {baseline}'s final best reached sooner in {pair['sooner']}, "
              f"later in {pair['later']} (p = {pair['time_p']:.2f})")
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {out / 'summary.json'}, {out / 'curves.csv'}, {out / 'regret.png'}")


def _paired(by: dict[tuple[str, str, int], dict[str, Any]], baseline: str, a: str, b: str) -> dict[str, Any]:
    """Method ``a`` against ``b`` run by run (same task, same seed): how often each is ahead on
    final regret and on time to the baseline's final best, with a two-sided sign test, because
    medians over a few dozen runs of noisy searches can favour either by chance."""
    from scipy.stats import binomtest

    keys = sorted((t, s) for (m, t, s) in by if m == a and (b, t, s) in by and (baseline, t, s) in by)
    fa = [by[(a, t, s)]["final_best"] for t, s in keys]
    fb = [by[(b, t, s)]["final_best"] for t, s in keys]
    ta = [_reach_time(by[(a, t, s)], by[(baseline, t, s)]["final_best"]) for t, s in keys]
    tb = [_reach_time(by[(b, t, s)], by[(baseline, t, s)]["final_best"]) for t, s in keys]
    lower, higher = sum(x < y for x, y in zip(fa, fb)), sum(x > y for x, y in zip(fa, fb))
    sooner, later = sum(x < y for x, y in zip(ta, tb)), sum(x > y for x, y in zip(ta, tb))

    def p(k: int, n: int) -> float:
        return float(binomtest(k, n).pvalue) if n else 1.0

    return {"pairs": len(keys), "final_lower": lower, "final_higher": higher, "final_p": p(lower, lower + higher),
            "sooner": sooner, "later": later, "time_p": p(sooner, sooner + later)}


def _plot(path: Path, grid: np.ndarray, curves: dict[str, np.ndarray], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for m, c in curves.items():
        q25, q50, q75 = np.quantile(c, [0.25, 0.5, 0.75], axis=0)
        ax.plot(grid, q50, label=f"{m} (n={len(c)})")
        ax.fill_between(grid, q25, q75, alpha=0.2)
    ax.set_yscale("log")
    ax.set_xlabel("simulated time (fraction of the budget)")
    ax.set_ylabel("normalized regret (median, IQR band)")
    ax.set_title(f"LCBench surrogate, promotion ASHA: {title}")
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default="main")
    parser.add_argument("--methods", nargs="+", default=["random", "gp", "tpe"])
    parser.add_argument("--tasks", nargs="+", default=TASKS)
    parser.add_argument("--seeds", nargs="+", type=int, default=list(range(10)))
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--calibrate-trials", type=int, default=300)
    parser.add_argument("--budget-scale", type=float, default=1.0)
    parser.add_argument("--baseline", default="random")
    parser.add_argument("--variant", nargs=2, action="append", default=[], metavar=("NAME", "JSON"),
                        help='an extra method, e.g. --variant gp-300 \'{"type": "gp", "max_points": 300}\'')
    parser.add_argument("--report", action="store_true", help="aggregate the runs of --tag and print tables")
    parser.add_argument("--pair", nargs=2, action="append", default=[], metavar=("A", "B"),
                        help="with --report: compare method A with B run by run (sign tests)")
    args = parser.parse_args()
    for name, options in args.variant:
        METHODS[name] = json.loads(options)
    if args.report:
        report(args)
    else:
        run(args)


if __name__ == "__main__":
    main()
