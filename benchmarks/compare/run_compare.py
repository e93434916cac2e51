"""Run the peer comparison: methods x benchmarks x worker counts x seeds x clocks, resumable.

Why: issue 5 asks where rung stands against the tools users would pick instead, with every
method seeing identical workers, timing and budgets. Each run writes
``benchmarks/results/compare/<benchmark>/<method>_w<workers>_s<seed>[_charged].csv`` (the regret
of the best so far after every result, in simulated time) and a JSON summary beside it; runs
already on disk are skipped, so rerunning a command continues an interrupted suite (seeds are
done outermost, so a partial suite holds whole seeds). The budget of simulated seconds of a
(benchmark, worker count) is calibrated once as the time rung's random + ASHA needs to start
200 trials, or 1.25 median full trainings if longer (``calibrate``), cached in ``budgets.json``. At the end
``analyze.py`` turns everything on disk into tables and plots.

Usage (from the repository root, rung's .venv; peers need benchmarks/compare/make_envs.sh)::

    .venv/bin/python benchmarks/compare/run_compare.py --suite quick --jobs 2
    .venv/bin/python benchmarks/compare/run_compare.py --suite full --jobs 2     # issue 5's table
    .venv/bin/python benchmarks/compare/run_compare.py --benchmarks hartmann6 \\
        --methods rung-random-asha rung-gp optuna --workers 4 --seeds 0 1 --budget 1000
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import BASELINE, METHODS, ROOT, Benchmark, Record, RunResult, load_benchmark, method_command, run  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "compare"
FIELDS = ["time", "trial", "resource", "value", "best_max", "regret_max", "best_any", "regret_any"]


def improvements(records: list[Record]) -> list[Record]:
    """The records where either best-so-far regret changes, plus the first and the last.

    Why: every number analyze.py computes (regret curves, time to target, final regret) reads
    only these step points of the best-so-far curves, and keeping every result would put
    hundreds of megabytes of CSV in the repository for the full suite.
    """
    kept: list[Record] = []
    for i, r in enumerate(records):
        if not kept or i == len(records) - 1 or (r.regret_max, r.regret_any) != (kept[-1].regret_max, kept[-1].regret_any):
            kept.append(r)
    return kept


def machine() -> str:
    """The CPU model, core count, OS and Python making a run, as one line.

    Why: in the charged clock a method's real decision time is added to the simulated clock, so
    a run's result depends on the CPU that made it: a slower one charges every decision more.
    Each run records it, and ``machine_warnings`` and analyze.py flag a comparison whose methods
    ran on different ones.
    """
    cpu = ""
    try:
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), "")
    except OSError:  # not Linux
        pass
    cpu = cpu or platform.processor() or platform.machine() or "unknown CPU"
    return (f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
            f"Python {platform.python_version()}")


def write_csv(result: RunResult, out_dir: Path) -> Path:
    """One CSV of the run's best-so-far steps (``improvements``) and a JSON summary beside it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    name = stem(result.method, result.workers, result.seed, result.charged)
    path = out_dir / f"{name}.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(FIELDS)
        for r in improvements(result.records):
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
               "tell_ms_mean": _mean_ms(result.tell_seconds), "machine": machine(),
               "method_info": result.method_info}
    (out_dir / f"{name}.json").write_text(json.dumps(summary, indent=1))
    return path


def _mean_ms(xs: list[float]) -> float:
    return 1e3 * sum(xs) / len(xs) if xs else 0.0


# ------------------------------------------------------------------------------- the suite
LCBENCH_TASKS = ["3945", "7593", "34539", "126025", "126026", "126029", "146212", "167104", "167149", "167152"]
ALL_METHODS = ["rung-random-asha", "rung-random-asha-stop", "rung-random-full", "rung-gp", "rung-gp-stop",
               "rung-tpe", "rung-tpe-stop", "optuna", "synetune-asha", "synetune-mobster", "dehb", "smac"]
SUITES: dict[str, dict[str, Any]] = {
    # issue 5's comparison: 12 benchmarks x 3 worker counts x 10 seeds x every method, both clocks
    "full": {"benchmarks": ["hartmann6", "branin"] + [f"lcbench:{t}" for t in LCBENCH_TASKS],
             "workers": [4, 32, 256], "seeds": list(range(10)), "methods": ALL_METHODS,
             "clocks": ["simulated", "charged"]},
    # a few minutes: the pipeline end to end with every peer
    "quick": {"benchmarks": ["branin", "lcbench:3945"], "workers": [4, 32], "seeds": [0, 1],
              "methods": ["rung-random-asha", "rung-gp", "optuna", "synetune-asha", "dehb", "smac"],
              "clocks": ["simulated"]},
}
# Runs a suite leaves out, with the reason the report repeats: (method, clock) -> worker counts.
# SMAC's asks take 0.1-0.3 s (measured here). Syne Tune 0.13's MOBSTER spends 2 s per decision at 200-300 observations and 5-6 s at its
# 500-point cap (issue 5's measurement, and ours: docs/BENCHMARKS.md); in the pure clock, runs
# with thousands of decisions at 32 and 256 workers would take hours each. In the charged clock
# its thinking time is paid in simulated time, which bounds a run, so it runs at every count.
SKIP: dict[tuple[str, str], tuple[list[int], str]] = {
    ("synetune-mobster", "simulated"): (
        [32, 256], "Syne Tune MOBSTER in the pure clock only at 4 workers: at 32 and 256 workers a run makes "
                   "thousands of 2-6 s decisions (hours per run on this machine); it runs there in the charged clock"),
    ("smac", "simulated"): (
        [256], "SMAC3 in the pure clock only at 4 and 32 workers: its 0.1-0.3 s asks grow with its history, and a "
               "256-worker run makes thousands (20+ min per run here); it runs there in the charged clock"),
}


def skipped(method: str, clock: str, workers: int) -> str | None:
    """Why the suite leaves this run out, or None."""
    counts, why = SKIP.get((method, clock), ([], ""))
    return why if workers in counts else None


CALIBRATION_TRIALS = 200
FULL_TRAININGS = 1.25


def full_training_seconds(bench: Benchmark, samples: int = 64) -> float:
    """Median simulated seconds to train a random configuration from scratch to the maximum resource."""
    import numpy as np
    from spaces import Space

    space = Space.from_dict(bench.space, source=bench.name)
    rng = np.random.default_rng(0)
    bb = bench.blackbox
    top = bb.resource_max
    return float(np.median([float(bb.curve(space.sample(rng), [top])[0].get("elapsed", top))
                            for _ in range(samples)]))


def calibrate(spec: str, workers: int, cache: Path) -> float:
    """The simulated-seconds budget of every run on (benchmark, workers), cached in ``cache``.

    It is the longer of (a) the time rung's random + ASHA (seed 0) needs to start
    ``CALIBRATION_TRIALS`` trials, which gives every task the same depth of search whatever its
    training times (as benchmarks/bench_searchers.py does), and (b) ``FULL_TRAININGS`` times a
    median full training, without which many workers would end the budget before any trial
    could reach the maximum resource (the regret that counts is that of a model trained to it).
    Cached so that every method, seed and later session uses the same number.
    """
    budgets = json.loads(cache.read_text()) if cache.exists() else {}
    key = f"{spec}|w{workers}"
    if key not in budgets:
        bench = load_benchmark(spec)
        r = run(bench, method_command(BASELINE), workers=workers, seed=0, budget=math.inf,
                method=BASELINE, max_trials=CALIBRATION_TRIALS)
        budgets[key] = round(max(r.end_time, FULL_TRAININGS * full_training_seconds(bench)), 3)
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(dict(sorted(budgets.items())), indent=1) + "\n")
    return float(budgets[key])


def stem(method: str, workers: int, seed: int, charged: bool) -> str:
    return f"{method}_w{workers}_s{seed}{'_charged' if charged else ''}"


_BENCHMARKS: dict[str, Benchmark] = {}


def run_one(spec: str, method: str, workers: int, seed: int, budget: float, charged: bool, out: str) -> str:
    """One run in a pool process: the method's stderr goes to a log file beside the results."""
    bench = _BENCHMARKS.get(spec) or _BENCHMARKS.setdefault(spec, load_benchmark(spec))
    out_dir = Path(out) / spec.replace(":", "-")
    logs = Path(out) / "logs" / spec.replace(":", "-")
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / f"{stem(method, workers, seed, charged)}.log", "w") as log:
        r = run(bench, method_command(method), workers=workers, seed=seed, budget=budget,
                charge_decision_time=charged, method=method, stderr=log)
    write_csv(r, out_dir)
    final = r.final_regret()
    return (f"{spec} w={workers} {'charged' if charged else 'simulated'} {method} seed={seed}: {r.trials} trials, "
            f"final regret {'-' if final is None else f'{final:.4g}'}, {r.wall_seconds:.1f} s real, "
            f"ask {_mean_ms(r.ask_seconds):.1f} ms")


def plan(benchmarks: list[str], workers: list[int], seeds: list[int], methods: list[str], clocks: list[str],
         out: Path, budgets: dict[tuple[str, int], float],
         skip_expensive: bool = True, include_done: bool = False) -> list[tuple[str, str, int, int, bool]]:
    """Runs not yet on disk with this budget, seeds outermost: an interrupted suite leaves whole
    seeds behind it, and rerunning the command continues where it stopped. A run on disk with
    another budget (an older calibration, an explicit --budget) is redone, never mixed in.
    ``skip_expensive`` leaves out the runs in ``SKIP``; ``include_done`` lists every run of the
    selection, done or not (what a reproduction from scratch would run)."""
    todo = []
    for seed in seeds:
        for w in workers:
            for spec in benchmarks:
                for clock in clocks:
                    for method in methods:
                        charged = clock == "charged"
                        if skip_expensive and skipped(method, clock, w):
                            continue
                        done = out / spec.replace(":", "-") / f"{stem(method, w, seed, charged)}.json"
                        if not include_done and done.exists() and abs(json.loads(done.read_text())["budget"] - budgets[spec, w]) < 1e-6:
                            continue
                        todo.append((spec, method, w, seed, charged))
    return todo


def machine_warnings(todo: list[tuple[str, str, int, int, bool]], out: Path, here: str) -> list[str]:
    """One line per charged-clock (benchmark, workers, seed) whose runs on disk come from another machine.

    Why: methods are compared seed by seed, and in the charged clock their decision time is part
    of the result, so finishing a half-done seed on a faster or slower CPU tilts the comparison.
    Runs made before the machine was recorded count as another machine. Pure-clock runs do not
    depend on the CPU (only their ask times do) and are not checked.
    """
    lines = []
    for spec, w, seed in sorted({(spec, w, seed) for spec, _, w, seed, charged in todo if charged}):
        others: set[str] = set()
        for js in (out / spec.replace(":", "-")).glob(f"*_w{w}_s{seed}_charged.json"):
            try:
                made_on = json.loads(js.read_text()).get("machine") or "a machine not recorded"
            except (OSError, json.JSONDecodeError):
                continue
            if made_on != here:
                others.add(made_on)
        if others:
            lines.append(f"warning: {spec} w={w} seed={seed} charged: runs on disk were made on "
                         f"{'; '.join(sorted(others))}, not this machine ({here}); decision time is charged to "
                         "the clock, so their comparison would mix CPUs (move those runs away to redo the seed here)")
    return lines


def estimate(todo: list[tuple[str, str, int, int, bool]], out: Path, label: str = "estimate") -> str:
    """How long the runs still to do would take here, from the wall times of runs on disk.

    A run is priced by the median wall time of finished runs of the same (benchmark, method,
    workers, clock). A run of a kind never made yet is priced two ways, and the line gives both
    as a range, since neither is reliable alone: (a) the median of the same (method, workers,
    clock) on the other benchmarks, which under-prices LCBench when only the synthetic benchmarks
    have run there (at 32 workers rung's TPE and Optuna runs take several times longer on LCBench
    than on hartmann6 and branin); (b) the
    same benchmark's median at the nearest other worker count, scaled by the median ratio between
    the two worker counts on the benchmarks that have both, which over-prices methods whose
    decisions do not grow with the history (rung's GP caps its data; MOBSTER's decision time
    bounds its decisions in the charged clock). Runs with neither are counted apart, so the
    figure says what it does not know.
    """
    import statistics

    walls: dict[tuple[str, str, int, bool], list[float]] = {}
    for path in out.glob("*/*.json"):
        try:
            r = json.loads(path.read_text())
            key = (path.parent.name, r["method"], int(r["workers"]), bool(r["charged"]))
            walls.setdefault(key, []).append(float(r["wall_seconds"]))
        except (KeyError, ValueError, TypeError, json.JSONDecodeError):
            continue
    med = {k: statistics.median(v) for k, v in walls.items()}

    def scaled(spec: str, method: str, w: int, charged: bool, here: set[str]) -> float | None:
        others = sorted({ww for b, m, ww, c in med if b == spec and (m, c) == (method, charged) and ww != w},
                        key=lambda ww: abs(math.log(ww / w)))
        for ref in others:
            both = [b for b in here if (b, method, ref, charged) in med]
            if both:
                growth = statistics.median(med[b, method, w, charged] / med[b, method, ref, charged] for b in both)
                return med[spec, method, ref, charged] * growth
        return None

    exact, unknown, low, high = 0, 0, 0.0, 0.0
    for spec, method, w, _, charged in todo:
        spec = spec.replace(":", "-")
        if (spec, method, w, charged) in med:
            exact += 1
            low += med[spec, method, w, charged]
            high += med[spec, method, w, charged]
            continue
        here = {b for b, m, ww, c in med if (m, ww, c) == (method, w, charged)}
        prices = [p for p in (statistics.median(med[b, method, w, charged] for b in here) if here else None,
                              scaled(spec, method, w, charged, here)) if p is not None]
        if not prices:
            unknown += 1
            continue
        low += min(prices)
        high += max(prices)
    priced = len(todo) - unknown
    runs = f"{priced} run takes" if priced == 1 else f"{priced} runs take"
    if high < 3600:  # a few runs: "~0-0 h" would say nothing
        span = f"{low / 60:.0f}" if round(low / 60) == round(high / 60) else f"{low / 60:.0f}-{high / 60:.0f}"
        line = f"{label}: {runs} ~{span} min of one core"
    elif round(low / 3600, 1) == round(high / 3600, 1):
        line = f"{label}: {runs} ~{low / 3600:.1f} h of one core"
    else:
        line = f"{label}: {runs} ~{low / 3600:.0f}-{high / 3600:.0f} h of one core"
    if exact < priced:
        line += f" ({priced - exact} of them of a kind not run yet, priced from other benchmarks or worker counts)"
    if unknown:
        line += f"; {unknown} {'runs have nothing like them' if unknown > 1 else 'run has nothing like it'} measured yet"
    return line


def _run_job(job: tuple) -> str:
    return run_one(*job)


def run_parallel(jobs: list[tuple], processes: int, t0: float) -> None:
    """Runs ``jobs`` on a pool of ``processes``; SIGTERM or Ctrl-C stops every worker.

    Why a ``multiprocessing.Pool``: its ``terminate`` is public and kills the workers, and a
    method process whose harness worker died sees its stdin close and exits, so stopping the
    suite (``kill``, a scheduler's time limit) leaves nothing running. Finished runs are on disk;
    rerunning the command continues after them.
    """
    import multiprocessing
    import signal

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    pool = multiprocessing.get_context("spawn").Pool(processes)
    try:
        for k, line in enumerate(pool.imap_unordered(_run_job, jobs), 1):
            print(f"[{k}/{len(jobs)} {time.perf_counter() - t0:.0f}s] {line}", file=sys.stderr, flush=True)
        pool.close()
    except KeyboardInterrupt:
        print("run_compare: stopped; finished runs are kept, rerun the command to continue", file=sys.stderr)
        pool.terminate()
        raise SystemExit(130)
    finally:
        pool.join()
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", choices=list(SUITES), help="a preset of benchmarks, workers, seeds, methods, clocks; "
                    "the flags below override its parts")
    ap.add_argument("--benchmarks", nargs="+", help="hartmann6, branin, lcbench:<task>")
    ap.add_argument("--methods", nargs="+", choices=list(METHODS))
    ap.add_argument("--workers", nargs="+", type=int)
    ap.add_argument("--seeds", nargs="+", type=int)
    ap.add_argument("--clocks", nargs="+", choices=["simulated", "charged"])
    ap.add_argument("--budget", type=float, default=None,
                    help="simulated seconds per run (default: calibrated per benchmark and worker count)")
    ap.add_argument("--jobs", type=int, default=1, help="runs in parallel (one core each)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--include-expensive", action="store_true",
                    help="also the runs the suite leaves out for their cost (SKIP in this file)")
    ap.add_argument("--dry-run", action="store_true", help="print the runs still to do and exit")
    ap.add_argument("--no-analyze", action="store_true", help="skip analyze.py at the end")
    args = ap.parse_args(argv)
    preset = SUITES[args.suite] if args.suite else {"benchmarks": ["hartmann6"], "workers": [4], "seeds": [0, 1],
                                                    "methods": [BASELINE, "rung-gp"], "clocks": ["simulated"]}
    pick = {k: getattr(args, k) or preset[k] for k in ("benchmarks", "workers", "seeds", "methods", "clocks")}
    for m in pick["methods"]:
        method_command(m)  # fail now, not hours later, when a peer env is missing
    budgets = {(spec, w): args.budget or calibrate(spec, w, args.out / "budgets.json")
               for spec in pick["benchmarks"] for w in pick["workers"]}
    todo = plan(**pick, out=args.out, budgets=budgets, skip_expensive=not args.include_expensive)
    if not args.include_expensive:
        for method, clock in SKIP:
            why = next(filter(None, (skipped(method, clock, w) for w in pick["workers"])), None)
            if why and method in pick["methods"] and clock in pick["clocks"]:
                print(f"left out: {why}", file=sys.stderr)
    print(f"{len(todo)} runs to do ({'suite ' + args.suite if args.suite else 'custom'}) -> {args.out}", file=sys.stderr)
    for line in machine_warnings(todo, args.out, machine()):
        print(line, file=sys.stderr)
    if args.dry_run:
        for item in todo:
            print(*item)
        print(estimate(todo, args.out), file=sys.stderr)
        whole = plan(**pick, out=args.out, budgets=budgets, skip_expensive=not args.include_expensive,
                     include_done=True)
        print(estimate(whole, args.out, label="from scratch (the whole selection)"), file=sys.stderr)
        return
    t0 = time.perf_counter()
    jobs = [(spec, m, w, seed, budgets[spec, w], charged, str(args.out)) for spec, m, w, seed, charged in todo]
    if args.jobs <= 1:
        for k, job in enumerate(jobs, 1):
            print(f"[{k}/{len(jobs)} {time.perf_counter() - t0:.0f}s] {run_one(*job)}", file=sys.stderr, flush=True)
    else:
        run_parallel(jobs, args.jobs, t0)
    print(f"{len(jobs)} runs in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    if not args.no_analyze:
        import analyze

        analyze.main(["--results", str(args.out)])


if __name__ == "__main__":
    main()
