#!/usr/bin/env bash
# Reproduce the whole peer comparison of docs/BENCHMARKS.md from scratch (issue 5).
#
#   benchmarks/compare/reproduce.sh            # full suite, 2 runs in parallel
#   JOBS=16 benchmarks/compare/reproduce.sh    # on a bigger machine
#   SUITE=quick benchmarks/compare/reproduce.sh   # minutes: the pipeline end to end
#
# 1. rung's own .venv (README's install command) if it is missing;
# 2. one virtual environment per peer from benchmarks/compare/envs/*.txt (pinned);
# 3. every run of the suite (run_compare.py; resumable: rerun to continue after an interruption,
#    finished runs are kept in benchmarks/results/compare/<benchmark>/);
# 4. analyze.py: benchmarks/results/compare/summary/{report.md,summary.csv,ranks.csv,curves.csv,*.png}.
# Needs the YAHPO LCBench surrogate in ../shared/benchmarks/yahpo/lcbench or $RUNG_LCBENCH_DIR.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
SUITE="${SUITE:-full}"
JOBS="${JOBS:-2}"
if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet torch==2.13.0
  .venv/bin/pip install --quiet -e '.[dev]'
fi
benchmarks/compare/make_envs.sh
start=$(date +%s)
.venv/bin/python benchmarks/compare/run_compare.py --suite "$SUITE" --jobs "$JOBS"
echo "reproduce.sh: suite $SUITE took $(( $(date +%s) - start )) s with $JOBS jobs" >&2
