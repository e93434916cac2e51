"""Smoke test of the peer-comparison harness (benchmarks/compare), through real method processes.

Why here: the harness is not installed with the package, but it must keep working as rung's
scheduler and searchers change. Only rung's own methods run (no peer environment needed).
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

COMPARE = Path(__file__).resolve().parents[1] / "benchmarks" / "compare"
sys.path.insert(0, str(COMPARE))

import harness  # noqa: E402
from protocol import space_differences  # noqa: E402

BUDGET = 400.0  # simulated seconds: ~1000 mf_branin evaluations on 4 workers, some reach max (81 s)


@pytest.fixture(scope="module")
def branin() -> harness.Benchmark:
    return harness.load_benchmark("branin")


@pytest.mark.parametrize("method", ["rung-random-asha", "rung-tpe-stop"])
def test_runs_complete_and_regret_never_increases(branin: harness.Benchmark, method: str) -> None:
    r = harness.run(branin, harness.method_command(method), workers=4, seed=0, budget=BUDGET, method=method)
    assert r.ended == "budget" and r.end_time == BUDGET
    assert r.trials > 4 and len(r.records) >= r.trials - 4  # every worker was used, results delivered
    times = [rec.time for rec in r.records]
    assert times == sorted(times) and times[-1] <= BUDGET
    any_regret = [rec.regret_any for rec in r.records]
    assert all(v is not None and math.isfinite(v) for v in any_regret)
    assert all(b <= a + 1e-12 for a, b in zip(any_regret, any_regret[1:]))
    max_regret = [rec.regret_max for rec in r.records if rec.regret_max is not None]
    assert max_regret, "some trial reached the maximum resource"
    assert all(b <= a + 1e-12 for a, b in zip(max_regret, max_regret[1:]))
    assert len(r.ask_seconds) >= r.trials and all(s >= 0 for s in r.ask_seconds)


def test_charged_clock_adds_decision_time(branin: harness.Benchmark) -> None:
    free = harness.run(branin, harness.method_command("rung-random-asha"), workers=4, seed=1, budget=BUDGET)
    charged = harness.run(branin, harness.method_command("rung-random-asha"), workers=4, seed=1, budget=BUDGET,
                          charge_decision_time=True)
    # Same decisions, but each result arrives later by the decision time charged before it.
    n = min(len(free.records), len(charged.records), 20)
    assert n > 0
    assert all(c.time > f.time for f, c in zip(free.records[:n], charged.records[:n]))


def test_space_mismatch_is_refused(branin: harness.Benchmark) -> None:
    other = dict(branin.space)
    other["x1"] = {"type": "float", "low": -5.0, "high": 12.0}  # a peer that mistranslated a bound
    cmd = harness.method_command("rung-random-asha") + ["--space-json", json.dumps(other)]
    with pytest.raises(harness.Refused, match="fingerprint"):
        harness.run(branin, cmd, workers=4, seed=0, budget=BUDGET)
    problems = space_differences(branin.space, other)
    assert problems == ["x1.high: benchmark has 10.0, method has 12.0"]
    assert space_differences(branin.space, {**branin.space, "x1": {**branin.space["x1"], "log": True}})
