"""Run methods x benchmarks x worker counts x seeds through the harness; CSV + a markdown table.

Why: issue 5 asks where rung stands against the tools users would pick instead, with every
method seeing identical workers, timing and budgets. Each run writes
``benchmarks/results/compare/<benchmark>/<method>_w<workers>_s<seed>[_charged].csv`` (regret of
the best so far after every result, in simulated time) and a summary row; the table reports, per
benchmark and worker count: median final regret (at the maximum resource), median time to reach
the target (the median final regret of rung random+ASHA, the baseline), the speedup over the
baseline's time, and the mean real decision time per ask.

Usage (from the repository root, rung's .venv; peers need benchmarks/compare/make_envs.sh)::

    .venv/bin/python benchmarks/compare/run_compare.py --benchmarks hartmann6 \\
        --methods rung-random-asha rung-gp optuna --workers 4 --seeds 0 1 --budget 1000
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import BASELINE, METHODS, ROOT, RunResult, load_benchmark, method_command, run  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "compare"
FIELDS = ["time", "trial", "resource", "value", "best_max", "regret_max", "best_any", "regret_any"]


def write_csv(result: RunResult, out_dir: Path) -> Path:
    """One CSV of the run's records and a JSON summary beside it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{result.method}_w{result.workers}_s{result.seed}{'_charged' if result.charged else ''}"
    path = out_dir / f"{stem}.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(FIELDS)
        for r in result.records:
            w.writerow([f"{r.time:.6g}", r.trial, r.resource, f"{r.value:.10g}",
                        "" if r.best_max is None else f"{r.best_max:.10g}",
                        "" if r.regret_max is None else f"{r.regret_max:.6g}",
                        f"{r.best_any:.10g}", "" if r.regret_any is None else f"{r.regret_any:.6g}"])
    summary = {"benchmark": result.benchmark, "method": result.method, "workers": result.workers,
               "seed": result.seed, "budget": result.budget, "charged": result.charged,
               "trials": result.trials, "results": len(result.records), "ended": result.ended,
               "end_time": result.end_time, "final_regret_max": result.final_regret(),
               "final_regret_any": result.final_regret("regret_any"), "wall_seconds": result.wall_seconds,
               "asks": len(result.ask_seconds), "ask_ms_mean": _mean_ms(result.ask_seconds),
               "tell_ms_mean": _mean_ms(result.tell_seconds), "method_info": result.method_info}
    (out_dir / f"{stem}.json").write_text(json.dumps(summary, indent=1))
    return path


def _mean_ms(xs: list[float]) -> float:
    return 1e3 * sum(xs) / len(xs) if xs else 0.0


def table(results: list[RunResult]) -> str:
    """Markdown: per (benchmark, workers, charged) and method, final regret and time to target."""
    lines = ["| benchmark | workers | clock | method | runs | trials (median) | final regret (median) "
             "| time to target (median s) | reached | speedup vs random+ASHA | ask ms (mean) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    groups: dict[tuple[str, int, bool], list[RunResult]] = {}
    for r in results:
        groups.setdefault((r.benchmark, r.workers, r.charged), []).append(r)
    for (bench, workers, charged), runs in groups.items():
        base = [r.final_regret() for r in runs if r.method == BASELINE and r.final_regret() is not None]
        target = statistics.median(base) if base else None
        base_t = statistics.median([r.time_to(target) for r in runs if r.method == BASELINE]) if base else None
        methods = list(dict.fromkeys(r.method for r in runs))
        for m in methods:
            mr = [r for r in runs if r.method == m]
            finals = [r.final_regret() for r in mr if r.final_regret() is not None]
            final = f"{statistics.median(finals):.4g}" if finals else "none at max"
            if target is not None:
                times = [r.time_to(target) for r in mr]
                t_med = statistics.median(times)
                reached = f"{sum(math.isfinite(t) for t in times)}/{len(times)}"
                tt = f"{t_med:.0f}" if math.isfinite(t_med) else "not reached"
                speed = f"{base_t / t_med:.2f}x" if math.isfinite(t_med) and t_med > 0 and base_t and math.isfinite(base_t) else "-"
            else:
                tt = reached = speed = "-"
            trials = statistics.median([r.trials for r in mr])
            ask = statistics.mean([_mean_ms(r.ask_seconds) for r in mr])
            lines.append(f"| {bench} | {workers} | {'charged' if charged else 'simulated'} | {m} | {len(mr)} | "
                         f"{trials:.0f} | {final} | {tt} | {reached} | {speed} | {ask:.2f} |")
    if any(r.method == BASELINE for r in results):
        lines.append(f"\nTarget: the median final regret (at max resource) of {BASELINE} in the same group.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--benchmarks", nargs="+", default=["hartmann6"], help="hartmann6, branin, lcbench:<task>")
    ap.add_argument("--methods", nargs="+", default=[BASELINE, "rung-gp", "optuna"], choices=list(METHODS))
    ap.add_argument("--workers", nargs="+", type=int, default=[4])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    ap.add_argument("--budget", type=float, default=1000.0, help="simulated seconds per run")
    ap.add_argument("--charge-decision-time", action="store_true",
                    help="add each method's real decision time to the simulated clock")
    ap.add_argument("--both-clocks", action="store_true", help="run each configuration in both clock modes")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    modes = [False, True] if args.both_clocks else [args.charge_decision_time]
    results: list[RunResult] = []
    for spec in args.benchmarks:
        bench = load_benchmark(spec)
        for workers in args.workers:
            for charged in modes:
                for method in args.methods:
                    for seed in args.seeds:
                        r = run(bench, method_command(method), workers=workers, seed=seed, budget=args.budget,
                                charge_decision_time=charged, method=method)
                        path = write_csv(r, args.out / spec.replace(":", "-"))
                        print(f"{spec} w={workers} {'charged' if charged else 'simulated'} {method} seed={seed}: "
                              f"{r.trials} trials, final regret {r.final_regret()}, {r.wall_seconds:.1f}s real "
                              f"-> {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}", file=sys.stderr)
                        results.append(r)
    print(table(results))


if __name__ == "__main__":
    main()
