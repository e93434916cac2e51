"""The fantasies study in benchmarks/: its paired report and its measurement of what fantasies change.

Why here: docs/BENCHMARKS.md explains the fantasies result with these two tools (a sign test run
by run, and the finding that fantasies of evaluations below the acquisition level leave EI
unchanged on average); the tests keep both claims checkable as the searcher changes.
"""
from __future__ import annotations

import sys

import numpy as np
import pytest

from support import ROOT, lcbench_available

sys.path.insert(0, str(ROOT))

from benchmarks import bench_fantasy_effect, bench_searchers  # noqa: E402


def _run(method: str, task: str, seed: int, final: float, reach: float) -> dict:
    # best-so-far steps: 1.0 at the start, ``final`` from ``reach`` (a fraction of the budget) on
    return {"method": method, "task": task, "seed": seed, "budget": 100.0, "final_best": final,
            "curve_time": [0.0, reach * 100.0], "curve_best": [1.0, final]}


def test_paired_report_counts_wins_per_run_and_tests_them():
    by = {}
    for seed in range(8):
        by[("random", "t", seed)] = _run("random", "t", seed, 0.5, 0.9)
        by[("a", "t", seed)] = _run("a", "t", seed, 0.1 if seed < 7 else 0.6, 0.2)  # ahead in 7 of 8
        by[("b", "t", seed)] = _run("b", "t", seed, 0.3, 0.2 if seed < 4 else 0.8)  # same time in 4
    pair = bench_searchers._paired(by, "random", "a", "b")
    assert pair["pairs"] == 8
    assert (pair["final_lower"], pair["final_higher"]) == (7, 1)
    # seeds 0-3 tie (left out); a is sooner on 4-6; on seed 7 it never reaches random's final best
    assert (pair["sooner"], pair["later"]) == (3, 1)
    assert pair["final_p"] == pytest.approx(0.0703125)  # two-sided sign test, 7 of 8
    assert pair["time_p"] == pytest.approx(0.625)


@pytest.mark.skipif(not lcbench_available(), reason="LCBench surrogate data not found "
                    "(../shared/benchmarks/yahpo/lcbench or RUNG_LCBENCH_DIR)")
def test_fantasies_below_the_acquisition_level_leave_ei_unchanged_on_average():
    records = bench_fantasy_effect.measure("3945", seed=0, workers=8, budget=250.0)
    assert records, "no model-based proposal was made while evaluations were pending"
    assert all(0 <= r["at_level"] <= r["pending"] <= 7 for r in records)
    checked = [r["many_vs_plain_max_rel"] for r in records if r["at_level"] == 0]
    assert checked, "no proposal had all pending evaluations below the acquisition level"
    assert float(np.median(checked)) < 0.05
