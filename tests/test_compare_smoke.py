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


# --------------------------------------------------------------------------- Syne Tune peer
SYNETUNE_PYTHON = COMPARE / ".envs" / "synetune" / "bin" / "python"
needs_synetune = pytest.mark.skipif(
    not SYNETUNE_PYTHON.exists(),
    reason="no Syne Tune env (benchmarks/compare/make_envs.sh synetune); CI does not build peer envs")


@needs_synetune
def test_synetune_asha_runs_through_the_protocol(branin: harness.Benchmark) -> None:
    """Syne Tune's HyperbandScheduler driven without its Tuner: promotions resume paused trials."""
    r = harness.run(branin, harness.method_command("synetune-asha"), workers=4, seed=0, budget=150.0,
                    method="synetune-asha")
    assert r.ended == "budget" and r.trials > 4
    assert "syne-tune 0.13.0" in r.method_info["method"]
    levels = {rec.resource for rec in r.records}
    assert {1, 3}.issubset(levels)  # rung levels of the shared ladder (1, 3, 9, 27, 81)
    # A promoted trial reports at increasing levels (resumed from its checkpoint, not restarted).
    per_trial: dict[int, list[int]] = {}
    for rec in r.records:
        per_trial.setdefault(rec.trial, []).append(rec.resource)
    assert any(len(v) > 1 for v in per_trial.values())
    assert all(v == sorted(set(v)) for v in per_trial.values())


@needs_synetune
def test_synetune_refuses_conditional_spaces() -> None:
    """Syne Tune has no conditional parameters: the peer errors out naming the parameter."""
    from protocol import MethodProcess, ProtocolError

    space = {"opt": {"type": "choice", "values": ["sgd", "adam"]},
             "momentum": {"type": "float", "low": 0.1, "high": 0.9, "when": {"opt": "sgd"}}}
    with MethodProcess(harness.method_command("synetune-asha")) as proc:
        with pytest.raises(ProtocolError, match="'momentum' is conditional"):
            proc.request({"op": "init", "version": 1, "space": space, "resource": {"min": 1, "max": 9, "eta": 3},
                          "metric": "loss", "mode": "min", "seed": 0, "workers": 1, "budget": {"seconds": 1.0}})


@needs_synetune
def test_synetune_translates_every_flat_type() -> None:
    """int/log int/ordinal/bool/constant come back from Syne Tune's domains as the harness's space."""
    from protocol import MethodProcess, space_differences

    space = {"lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": True},
             "units": {"type": "int", "low": 16, "high": 512, "log": True},
             "layers": {"type": "int", "low": 1, "high": 4, "log": False},
             "width": {"type": "ordinal", "values": [32, 64, 128]},
             "bn": {"type": "bool"}, "act": {"type": "choice", "values": ["relu", "tanh"]},
             "seed_offset": {"type": "constant", "value": 7}}
    with MethodProcess(harness.method_command("synetune-mobster")) as proc:
        reply = proc.request({"op": "init", "version": 1, "space": space, "resource": {"min": 1, "max": 9, "eta": 3},
                              "metric": "loss", "mode": "min", "seed": 0, "workers": 1, "budget": {"seconds": 1.0}})
        assert space_differences(space, reply["space"]) == []
        ask = proc.request({"op": "ask"})
        assert ask["resource"] == 1 and set(ask["config"]) == set(space) and ask["config"]["seed_offset"] == 7


# ------------------------------------------------------------------------------- the suite
def test_max_trials_ends_a_run_once_that_many_trials_started(branin: harness.Benchmark) -> None:
    r = harness.run(branin, harness.method_command("rung-random-asha"), workers=4, seed=0, budget=math.inf,
                    max_trials=30)
    assert r.ended == "trials" and r.trials == 30 and 0 < r.end_time < math.inf


def test_calibrated_budgets_are_cached_and_long_enough_to_reach_the_maximum(tmp_path: Path) -> None:
    import run_compare

    cache = tmp_path / "budgets.json"
    b4 = run_compare.calibrate("branin", 4, cache)
    b32 = run_compare.calibrate("branin", 32, cache)
    bench = harness.load_benchmark("branin")
    full = run_compare.full_training_seconds(bench)
    assert b32 == pytest.approx(run_compare.FULL_TRAININGS * full, rel=1e-3)  # 200 trials go fast on 32
    assert b4 >= b32  # 4 workers need longer for the same 200 trials
    assert json.loads(cache.read_text()) == {"branin|w32": b32, "branin|w4": b4}
    cache.write_text(json.dumps({"branin|w4": 123.0}))
    assert run_compare.calibrate("branin", 4, cache) == 123.0  # every later session reuses it


def test_the_plan_skips_finished_runs_and_redoes_runs_with_another_budget(tmp_path: Path) -> None:
    import run_compare

    budgets = {("branin", 4): 100.0}
    args = dict(benchmarks=["branin"], workers=[4], seeds=[0, 1], methods=["rung-random-asha", "rung-gp"],
                clocks=["simulated", "charged"], out=tmp_path, budgets=budgets)
    todo = run_compare.plan(**args)
    assert len(todo) == 8 and [t[3] for t in todo] == [0] * 4 + [1] * 4  # seeds outermost
    done = tmp_path / "branin"
    done.mkdir()
    (done / "rung-gp_w4_s0.json").write_text(json.dumps({"budget": 100.0}))
    (done / "rung-gp_w4_s1_charged.json").write_text(json.dumps({"budget": 50.0}))  # an older calibration
    todo = run_compare.plan(**args)
    assert ("branin", "rung-gp", 4, 0, False) not in todo and ("branin", "rung-gp", 4, 1, True) in todo
    assert len(todo) == 7


def test_the_estimate_prices_runs_left_and_the_whole_suite_from_wall_times_on_disk(tmp_path: Path) -> None:
    import run_compare

    def done(spec: str, seed: int, workers: int, wall: float) -> None:
        (tmp_path / spec).mkdir(exist_ok=True)
        (tmp_path / spec / f"rung-gp_w{workers}_s{seed}.json").write_text(json.dumps(
            {"budget": 100.0, "method": "rung-gp", "workers": workers, "charged": False, "wall_seconds": wall}))

    budgets = {(b, w): 100.0 for b in ("branin", "hartmann6") for w in (4, 32)}
    args = dict(benchmarks=["branin", "hartmann6"], workers=[32], seeds=[0, 1], methods=["rung-gp"],
                clocks=["simulated"], out=tmp_path, budgets=budgets)
    done("branin", 0, 32, 1000.0)
    done("branin", 1, 32, 2600.0)
    todo = run_compare.plan(**args)
    whole = run_compare.plan(**args, include_done=True)
    assert len(todo) == 2 and len(whole) == 4  # the two hartmann6 runs are left; the selection has four
    # hartmann6 at 32 workers was never run: priced by rung-gp's median there on any benchmark (1800 s)
    priced = " (2 of them of a kind not run yet, priced from other benchmarks or worker counts)"
    assert run_compare.estimate(todo, tmp_path) == "estimate: 2 runs take ~1.0 h of one core" + priced
    assert run_compare.estimate(whole, tmp_path, label="all") == "all: 4 runs take ~2.0 h of one core" + priced
    # ... and, once hartmann6 has run at 4 workers, also by that scaled by branin's growth 4 -> 32
    # workers (10x): 2 x 10 x 900 s = 5 h; the line gives both prices as a range
    done("hartmann6", 0, 4, 900.0)
    done("branin", 0, 4, 180.0)
    assert run_compare.estimate(todo, tmp_path) == "estimate: 2 runs take ~1-5 h of one core" + priced
    unpriced = [("branin", "rung-tpe", 4, 0, False)]
    assert run_compare.estimate(unpriced, tmp_path) == (
        "estimate: 0 runs take ~0 min of one core; 1 run has nothing like it measured yet")
    # a handful of runs is given in minutes, not as "~0-0 h"
    assert run_compare.estimate([("branin", "rung-gp", 32, 0, False)], tmp_path) == (
        "estimate: 1 run takes ~30 min of one core")


def test_run_compare_writes_runs_and_the_report(tmp_path: Path) -> None:
    import run_compare

    run_compare.main(["--benchmarks", "branin", "--methods", "rung-random-asha", "rung-tpe", "--workers", "4",
                      "--seeds", "0", "--budget", "150", "--out", str(tmp_path)])
    assert sorted(p.name for p in (tmp_path / "branin").glob("*.json")) == [
        "rung-random-asha_w4_s0.json", "rung-tpe_w4_s0.json"]
    report = (tmp_path / "summary" / "report.md").read_text()
    assert "rung-tpe" in report and "4 workers" in report
    tpe_run = json.loads((tmp_path / "branin" / "rung-tpe_w4_s0.json").read_text())
    made_on = tpe_run["machine"]
    assert made_on == run_compare.machine() and "cores" in made_on and "Python" in made_on
    assert f"2 run(s) on {made_on}" in report
    # rung's .venv is not pinned like a peer's env: each run records the libraries behind its decisions
    from importlib.metadata import version
    assert tpe_run["method_info"]["libraries"] == f"rung {version('rung')}; optuna {version('optuna')}, numpy {version('numpy')}"


def test_continuing_a_charged_seed_made_on_another_machine_warns(tmp_path: Path) -> None:
    import run_compare

    here = run_compare.machine()
    (tmp_path / "branin").mkdir()
    for name, made_on in [("rung-gp_w4_s0_charged", "Slow CPU, 2 cores"), ("rung-tpe_w4_s1_charged", here),
                          ("rung-gp_w4_s2_charged", None), ("rung-gp_w4_s3", "Slow CPU, 2 cores")]:
        meta = {"budget": 100.0} | ({"machine": made_on} if made_on else {})
        (tmp_path / "branin" / f"{name}.json").write_text(json.dumps(meta))
    todo = [("branin", "rung-tpe", 4, seed, True) for seed in (0, 1, 2)] + [("branin", "rung-tpe", 4, 3, False)]
    lines = run_compare.machine_warnings(todo, tmp_path, here)
    # seed 0: another CPU; seed 1: this one (fine); seed 2: made before machines were recorded;
    # seed 3 is the pure clock, whose results do not depend on the CPU
    assert len(lines) == 2
    assert "branin w=4 seed=0 charged" in lines[0] and "Slow CPU, 2 cores" in lines[0]
    assert "branin w=4 seed=2 charged" in lines[1] and "a machine not recorded" in lines[1]


# ----------------------------------------------------------------------------- DEHB and SMAC
def _peer_env(peer: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(not (COMPARE / ".envs" / peer / "bin" / "python").exists(),
                              reason=f"no {peer} env (benchmarks/compare/make_envs.sh {peer}); CI does not build peer envs")


@pytest.mark.parametrize("peer, version", [pytest.param("dehb", "dehb 0.1.2", marks=_peer_env("dehb")),
                                           pytest.param("smac", "smac 2.4.1", marks=_peer_env("smac"))])
def test_peer_runs_through_the_protocol_and_is_reproducible(branin: harness.Benchmark, peer: str,
                                                            version: str) -> None:
    """Same seed, same decisions: both peers are driven asynchronously and report on the shared ladder."""
    runs = [harness.run(branin, harness.method_command(peer), workers=4, seed=3, budget=120.0, method=peer)
            for _ in range(2)]
    assert runs[0].ended == "budget" and runs[0].trials > 4
    assert version in runs[0].method_info["method"].lower()
    assert [(r.trial, r.resource, r.value) for r in runs[0].records] == \
        [(r.trial, r.resource, r.value) for r in runs[1].records]
    assert {rec.resource for rec in runs[0].records} <= {1, 3, 9, 27, 81}


@pytest.mark.parametrize("peer", [pytest.param("dehb", marks=_peer_env("dehb")),
                                  pytest.param("smac", marks=_peer_env("smac"))])
def test_configspace_peers_translate_conditional_spaces(peer: str) -> None:
    from protocol import MethodProcess

    space = {"opt": {"type": "choice", "values": ["sgd", "adam"]},
             "momentum": {"type": "float", "low": 0.1, "high": 0.9, "when": {"opt": "sgd"}},
             "width": {"type": "ordinal", "values": [32, 64, 128]}, "bn": {"type": "bool"},
             "units": {"type": "int", "low": 16, "high": 512, "log": True}, "k": {"type": "constant", "value": 7}}
    with MethodProcess(harness.method_command(peer)) as proc:
        reply = proc.request({"op": "init", "version": 1, "space": space, "resource": {"min": 1, "max": 9, "eta": 3},
                              "metric": "loss", "mode": "min", "seed": 0, "workers": 2, "budget": {"seconds": 1.0}})
        assert space_differences(space, reply["space"]) == []
        for _ in range(20):
            config = proc.request({"op": "ask"})["config"]
            assert ("momentum" in config) == (config["opt"] == "sgd") and config["k"] == 7


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (Linux /proc)."""
    out: set[int] = set()
    todo = [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                continue
            out.update(kids)
            todo.extend(kids)
    return out


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc to list child processes")
def test_sigterm_stops_a_parallel_suite_and_leaves_no_process_behind(tmp_path: Path) -> None:
    """`kill` (or a batch scheduler's time limit) must not orphan pool workers or method processes."""
    import os
    import signal
    import subprocess
    import time

    cmd = [sys.executable, str(COMPARE / "run_compare.py"), "--benchmarks", "branin", "--methods", "rung-gp",
           "--workers", "4", "--seeds", "0", "1", "--budget", "100000", "--jobs", "2", "--out", str(tmp_path),
           "--no-analyze"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    kids: set[int] = set()
    while time.monotonic() < deadline and len(kids) < 4:  # 2 pool workers + their 2 method processes
        time.sleep(0.5)
        kids = _descendants(proc.pid)
    assert len(kids) >= 4, f"the suite did not start its workers: {kids}"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "rerun the command to continue" in err
    def alive() -> dict[int, str]:
        out = {}
        for pid in kids:
            try:
                os.kill(pid, 0)
                if Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z":
                    out[pid] = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")[:120]
            except (ProcessLookupError, FileNotFoundError):
                pass
        return out

    deadline = time.monotonic() + 15  # method processes exit when their stdin closes
    while alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(), f"processes left running after SIGTERM: {alive()}"
