"""`rung report` on a 100,000-trial simulated search: the report's fast path (target < 30 s).

Creates the search first if it is missing (benchmarks/configs/lcbench-scale.yaml: 1,000
simulated workers, 100,000 trials of random + ASHA on the YAHPO LCBench surrogate; ~90 s, needs
../shared/benchmarks/yahpo/lcbench or RUNG_LCBENCH_DIR), then times `rung report` on it in a
fresh process, as a user would run it, and prints one line.

Usage (from the repository root)::

    python benchmarks/bench_report.py                    # run folder /tmp/scale100k
    python benchmarks/bench_report.py --dir runs/scale --repeat 3
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import machine_info  # noqa: E402

CONFIG = ROOT / "benchmarks" / "configs" / "lcbench-scale.yaml"


def rung(*args: str) -> list[str]:
    return [sys.executable, "-m", "orchestrator.cli", *args]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/scale100k"), help="the 100k-trial run folder")
    parser.add_argument("--repeat", type=int, default=1, help="time the report this many times (median)")
    args = parser.parse_args()
    if not (args.dir / "journal.sqlite").exists():
        print(f"creating the 100,000-trial search in {args.dir} (about 90 s) ...", file=sys.stderr)
        subprocess.run(rung("run", str(CONFIG), "--dir", str(args.dir), "--quiet"), check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL)
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        subprocess.run(rung("report", str(args.dir)), check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    m = machine_info()
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"rung report on {args.dir} (100,000 trials): {statistics.median(times):.1f} s wall "
          f"(median of {len(times)}; target < 30 s) | {m['cpu']}, {m['cores']} cores, {m['date']}, load average {load}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
