"""Orchestrator throughput: how fast rung itself runs simulated searches, journal included.

Two measurements, each in a fresh process (so peak memory is that search's own):

* ``lcbench-asha``: examples/lcbench-asha.yaml as the README runs it (16 workers, 500 trials,
  random + ASHA promotion type), repeated; median wall time.
* ``scale``: benchmarks/configs/lcbench-scale.yaml, 1,000 workers and 100,000 trials.

Usage (from the repository root; needs ../shared/benchmarks/yahpo/lcbench or RUNG_LCBENCH_DIR)::

    python benchmarks/bench_orchestrator.py            # both, writes benchmarks/results/orchestrator.json
    python benchmarks/bench_orchestrator.py --quick    # 10,000 trials instead of 100,000
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import machine_info  # noqa: E402


def one(config: str, directory: str, trials: int | None) -> dict:
    """Run one search in this process and measure it."""
    from orchestrator.experiment import load_experiment
    from orchestrator.runner import start
    from orchestrator.summary import summarize

    overrides = {"stop": {"trials": trials}} if trials else None
    exp = load_experiment(ROOT / config, overrides)
    t0 = time.perf_counter()
    start(exp, Path(directory))
    wall = time.perf_counter() - t0
    s = summarize(directory)
    journal = Path(directory) / "journal.sqlite"
    return {
        "config": config,
        "workers": exp.workers,
        "trials": s["trials"]["total"],
        "wall_seconds": wall,
        "trials_per_second": s["trials"]["total"] / wall,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "journal_mib": journal.stat().st_size / 2**20,
        "best": s["best"]["value"],
        "simulated_seconds": s["elapsed_seconds"],
        "suggest_ms_p50": s["overhead"]["suggest_ms_p50"],
    }


def measure(config: str, trials: int | None = None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, __file__, "--one", config, str(Path(tmp) / "run"), str(trials or 0)],
                             cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 trials in the scale run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "orchestrator.json")
    parser.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        config, directory, trials = args.one
        print(json.dumps(one(config, directory, int(trials) or None)))
        return

    runs = [measure("examples/lcbench-asha.yaml") for _ in range(args.repeats)]
    asha = dict(runs[0], wall_seconds=statistics.median(r["wall_seconds"] for r in runs),
                wall_seconds_all=[round(r["wall_seconds"], 3) for r in runs])
    scale = measure("benchmarks/configs/lcbench-scale.yaml", 10_000 if args.quick else None)
    result = {"machine": machine_info(), "lcbench_asha": asha, "scale": scale,
              "command": "python benchmarks/bench_orchestrator.py" + (" --quick" if args.quick else "")}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    m = result["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores, {m['memory']}, Python {m['python']}, {m['date']}")
    print("| search | workers | trials | wall s | trials/s | peak RSS MiB | journal MiB |")
    print("|---|---|---|---|---|---|---|")
    for name, r in (("lcbench-asha (median of %d)" % args.repeats, asha), ("scale", scale)):
        print(f"| {name} | {r['workers']} | {r['trials']} | {r['wall_seconds']:.2f} | {r['trials_per_second']:.0f} "
              f"| {r['peak_rss_mib']:.0f} | {r['journal_mib']:.1f} |")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
