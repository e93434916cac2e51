"""End-to-end simulated searches through the public entry points (CLI and runner).

These check the promises a user relies on: promotion never retrains from scratch (resource
used equals the sum over trials of the highest rung reached), status, export and the printed
best agree, seeds make searches reproducible, and every stop condition ends the search.
"""
from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from support import ROOT, lcbench_available
from orchestrator.cli import main
from orchestrator.export import results_frame
from orchestrator.journal import Journal
from orchestrator.summary import summarize


def run_cli(*args: str) -> int:
    return main([str(a) for a in args])


def journal_rows(directory: Path) -> list[tuple]:
    """Events without wall-clock and process details, for comparing two searches."""
    with Journal.open(directory, readonly=True) as j:
        return [(e.kind, e.trial, round(e.time, 9), json.dumps({k: v for k, v in e.data.items()
                 if k not in ("pid", "host", "started", "suggest_ms")}, sort_keys=True)) for e in j.events()]


def highest_level_per_trial(directory: Path) -> dict[int, float]:
    frame = results_frame(directory)
    return frame.groupby("trial")["resource"].max().to_dict()


@pytest.mark.parametrize("scheduler, brackets", [("promotion", 1), ("promotion", 3), ("stopping", 1), ("stopping", 2)])
def test_resource_used_is_sum_of_highest_levels(write_experiment, tmp_path, scheduler, brackets):
    cfg = write_experiment({"scheduler": {"type": scheduler, "brackets": brackets}, "stop": {"trials": 80}})
    assert run_cli("run", cfg, "--dir", tmp_path / "run", "--quiet") == 0
    status = summarize(tmp_path / "run")
    levels = highest_level_per_trial(tmp_path / "run")
    assert status["state"] == "finished"
    assert status["trials"]["total"] == 80 == len(levels)
    # no retraining from scratch: every trial's cost is the highest level it reached
    assert status["resource_used"] == sum(levels.values())
    assert status["trials"]["failed"] == 0
    if scheduler == "promotion":
        assert status["trials"]["stopped"] == 0
        assert status["trials"]["paused"] + status["trials"]["completed"] == 80
    else:
        assert status["trials"]["stopped"] > 0 and status["trials"]["paused"] == 0


def test_promoted_trials_report_every_rung_once_in_order(write_experiment, tmp_path):
    cfg = write_experiment({"stop": {"trials": 100}, "workers": 8})
    assert run_cli("run", cfg, "--dir", tmp_path / "run", "--quiet") == 0
    frame = results_frame(tmp_path / "run")
    rungs = [1, 3, 9, 27]
    for trial, group in frame.groupby("trial"):
        reported = list(group["resource"])
        assert reported == rungs[: len(reported)], (trial, reported)
    assert (frame["resource"] == 27).any(), "some trial reached the top rung"


def test_several_brackets_start_trials_at_different_rungs(write_experiment, tmp_path):
    cfg = write_experiment({"scheduler": {"brackets": 3}, "stop": {"trials": 120}})
    assert run_cli("run", cfg, "--dir", tmp_path / "run", "--quiet") == 0
    first = results_frame(tmp_path / "run").groupby("trial")["resource"].min()
    assert set(first.unique()) == {1, 3, 9}


def test_status_export_and_printed_best_agree(write_experiment, tmp_path, capsys):
    cfg = write_experiment({"stop": {"trials": 120}, "workers": 6})
    assert run_cli("run", cfg, "--dir", tmp_path / "run", "--quiet") == 0
    printed = capsys.readouterr().out
    assert run_cli("status", tmp_path / "run", "--json") == 0
    status = json.loads(capsys.readouterr().out)
    best = status["best"]
    # export: the best row among those at the highest rung reached
    assert run_cli("export", tmp_path / "run", "--out", tmp_path / "r.csv") == 0
    frame = pd.read_csv(tmp_path / "r.csv")
    top = frame[frame["resource"] == frame["resource"].max()]
    row = top.loc[top["value"].idxmin()]
    assert int(row["trial"]) == best["trial"] and row["resource"] == best["resource"]
    assert math.isclose(row["value"], best["value"], rel_tol=1e-12)
    assert math.isclose(row["config.x1"], best["config"]["x1"], rel_tol=1e-12)
    # the printed summary names the same trial and config
    assert f"trial {best['trial']} at resource {best['resource']:g}" in printed
    assert yaml.safe_load(printed[printed.index("config:"):printed.index("Results in")])["config"] == best["config"]
    assert status["resource_used"] == frame.groupby("trial")["resource"].max().sum()
    assert status["overhead"]["suggest_ms_p50"] > 0
    assert status["overhead"]["suggest_ms_p95"] >= status["overhead"]["suggest_ms_p50"]


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_export_formats_hold_the_same_rows(write_experiment, tmp_path, fmt):
    cfg = write_experiment({"stop": {"trials": 20}})
    assert run_cli("run", cfg, "--dir", tmp_path / "run", "--quiet") == 0
    out = tmp_path / f"results.{fmt}"
    assert run_cli("export", tmp_path / "run", "--format", fmt, "--out", out) == 0
    frame = {"csv": pd.read_csv, "json": pd.read_json, "parquet": pd.read_parquet}[fmt](out)
    expected = results_frame(tmp_path / "run")
    assert list(frame.columns) == list(expected.columns)
    assert list(frame.columns[:3]) == ["trial", "resource", "value"]
    assert {"config.x1", "config.x2", "time"} <= set(frame.columns)
    assert len(frame) == len(expected) > 20


def test_same_seed_same_search_other_seed_other_search(write_experiment, tmp_path):
    cfg = write_experiment({"stop": {"trials": 50}})
    for name in ("a", "b"):
        assert run_cli("run", cfg, "--dir", tmp_path / name, "--quiet") == 0
    assert run_cli("run", cfg, "--dir", tmp_path / "c", "--seed", "1", "--quiet") == 0
    assert journal_rows(tmp_path / "a") == journal_rows(tmp_path / "b")
    assert journal_rows(tmp_path / "a") != journal_rows(tmp_path / "c")


def test_total_resource_budget_stops_launching(write_experiment, tmp_path):
    cfg = write_experiment({"stop": {"trials": None, "total_resource": 300}, "workers": 4})
    assert run_cli("run", cfg, "--dir", tmp_path / "run", "--quiet") == 0
    status = summarize(tmp_path / "run")
    assert status["state"] == "finished"
    # launches stop once used + planned reaches the budget; in-flight segments may finish
    assert 300 <= status["resource_used"] <= 300 + 4 * 27


def test_wall_seconds_is_the_simulated_clock_and_cancels_running_segments(write_experiment, tmp_path):
    cfg = write_experiment({"stop": {"trials": None, "wall_seconds": 400}, "workers": 4})
    assert run_cli("run", cfg, "--dir", tmp_path / "run", "--quiet") == 0
    status = summarize(tmp_path / "run")
    assert status["state"] == "finished" and status["trials"]["running"] == 0
    assert status["elapsed_seconds"] == pytest.approx(400)
    with Journal.open(tmp_path / "run", readonly=True) as j:
        assert j.count("cancelled") >= 1
        assert all(e.time <= 400 for e in j.events(kinds=("result",)))


def test_failing_and_nan_trials_fail_alone(tmp_path, write_experiment):
    bb = tmp_path / "flaky.py"
    bb.write_text(
        "import math\n"
        "def objective(config, resource):\n"
        "    if config['x'] > 0.8:\n"
        "        raise RuntimeError('diverged')\n"
        "    if config['x'] < 0.1:\n"
        "        return {'loss': math.nan, 'elapsed': resource}\n"
        "    return {'loss': (config['x'] - 0.3) ** 2 + 1.0 / resource, 'elapsed': resource}\n"
    )
    cfg = write_experiment({"metric": "loss", "trainable": {"blackbox": "flaky.py:objective", "args": None},
                            "space": {"x1": None, "x2": None, "x": {"type": "float", "low": 0.0, "high": 1.0}},
                            "stop": {"trials": 60}})
    assert run_cli("run", cfg, "--dir", tmp_path / "run", "--quiet") == 0
    status = summarize(tmp_path / "run")
    assert status["state"] == "finished" and status["trials"]["total"] == 60
    assert status["trials"]["failed"] > 0
    assert 0.1 <= status["best"]["config"]["x"] <= 0.8
    with Journal.open(tmp_path / "run", readonly=True) as j:
        errors = [e.data["error"] for e in j.events(kinds=("failed",))]
    assert any("diverged" in e for e in errors) and any("nan" in e for e in errors)


def test_resume_of_a_finished_search_changes_nothing(write_experiment, tmp_path, capsys):
    cfg = write_experiment({"stop": {"trials": 10}})
    assert run_cli("run", cfg, "--dir", tmp_path / "run", "--quiet") == 0
    before = journal_rows(tmp_path / "run")
    assert run_cli("resume", tmp_path / "run", "--quiet") == 0
    assert "already finished" in capsys.readouterr().err
    assert journal_rows(tmp_path / "run") == before


def test_conditional_joint_space_searches_only_active_parameters(tmp_path, write_experiment):
    bb = tmp_path / "joint.py"
    bb.write_text(
        "def objective(config, resource):\n"
        "    loss = abs(config['arch.depth'] - 3) + (0.1 if config['recipe.optimizer'] == 'sgd' else 0.0)\n"
        "    if config['recipe.optimizer'] == 'sgd':\n"
        "        assert 'recipe.momentum' in config\n"
        "    else:\n"
        "        assert 'recipe.momentum' not in config\n"
        "    return {'loss': loss + 1.0 / resource, 'elapsed': resource * config['arch.depth']}\n"
    )
    space = {
        "arch": {"depth": {"type": "int", "low": 1, "high": 6}},
        "recipe": {"optimizer": {"type": "choice", "values": ["sgd", "adamw"]},
                   "momentum": {"type": "float", "low": 0.5, "high": 0.99, "when": {"optimizer": "sgd"}}},
    }
    base = {k: v for k, v in yaml.safe_load(write_experiment().read_text()).items() if k != "space"}
    cfg = write_experiment({"metric": "loss", "trainable": {"blackbox": "joint.py:objective", "args": None},
                            "space": space}, base=base)
    assert run_cli("run", cfg, "--dir", tmp_path / "run", "--quiet") == 0
    status = summarize(tmp_path / "run")
    assert status["trials"]["failed"] == 0
    frame = results_frame(tmp_path / "run")
    adamw = frame[frame["config.recipe.optimizer"] == "adamw"]
    assert adamw["config.recipe.momentum"].isna().all()


@pytest.mark.skipif(not lcbench_available(), reason="LCBench surrogate data (../shared/benchmarks/yahpo/lcbench) not found")
def test_lcbench_example_prints_a_best_that_status_and_export_agree_with(tmp_path):
    run = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "orchestrator.cli", "run", "examples/lcbench-asha.yaml",
                           "--dir", str(run), "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    m = re.search(r"Best val_error = (\S+): trial (\d+) at resource (\d+)", proc.stdout)
    assert m, proc.stdout
    status = json.loads(subprocess.run([sys.executable, "-m", "orchestrator.cli", "status", str(run), "--json"],
                                       cwd=ROOT, capture_output=True, text=True, check=True).stdout)
    assert status["trials"]["total"] == 500 and status["state"] == "finished"
    assert status["best"]["trial"] == int(m.group(2)) and status["best"]["resource"] == 52
    assert float(m.group(1)) == pytest.approx(status["best"]["value"], rel=1e-5)
    frame = results_frame(run)
    top = frame[frame["resource"] == 52]
    assert top.loc[top["val_error"].idxmin(), "trial"] == status["best"]["trial"]
    assert status["resource_used"] == frame.groupby("trial")["resource"].max().sum()


def test_benchmark_blackboxes_report_normalized_regret_of_the_best(write_experiment, tmp_path):
    from trainables.blackboxes import mf_branin

    cfg = write_experiment({"trainable": {"args": {"noise": 0.0}}, "stop": {"trials": 40}})
    assert run_cli("run", cfg, "--dir", tmp_path / "run", "--quiet") == 0
    best = summarize(tmp_path / "run")["best"]
    assert best["normalized_regret"] == pytest.approx(mf_branin(resource_max=27).normalized_regret(best["value"]))
    assert best["normalized_regret"] >= 0


def test_plain_function_blackboxes_have_no_regret(tmp_path, write_experiment):
    (tmp_path / "f.py").write_text("def f(config, resource):\n    return {'value': config['x1'] ** 2 / resource}\n")
    cfg = write_experiment({"trainable": {"blackbox": "f.py:f", "args": None}, "stop": {"trials": 10}})
    assert run_cli("run", cfg, "--dir", tmp_path / "run", "--quiet") == 0
    status = summarize(tmp_path / "run")
    assert "normalized_regret" not in status["best"]
    # no `elapsed` reported: one resource unit costs one simulated second
    assert status["elapsed_seconds"] > 0


def test_a_search_whose_every_trial_fails_exits_1_with_the_first_error(tmp_path, write_experiment, capsys):
    (tmp_path / "broken.py").write_text("def f(config, resource):\n    raise ValueError('shape mismatch')\n")
    cfg = write_experiment({"trainable": {"blackbox": "broken.py:f", "args": None}, "stop": {"trials": 5}})
    assert run_cli("run", cfg, "--dir", tmp_path / "run", "--quiet") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "every trial failed" in err[0] and "shape mismatch" in err[0]
    status = summarize(tmp_path / "run")
    assert status["state"] == "failed" and "shape mismatch" in status["error"]


def test_export_best_is_yaml_ready_to_retrain(write_experiment, tmp_path, capsys):
    cfg = write_experiment({"stop": {"trials": 20}})
    assert run_cli("run", cfg, "--dir", tmp_path / "run", "--quiet") == 0
    capsys.readouterr()
    assert run_cli("export", tmp_path / "run", "--best", "--out", tmp_path / "best.yaml") == 0
    doc = yaml.safe_load((tmp_path / "best.yaml").read_text())
    best = summarize(tmp_path / "run")["best"]
    assert doc["config"] == best["config"] and doc["trial"] == best["trial"] and doc["value"] == best["value"]


def test_python_api_mirrors_the_cli(write_experiment, tmp_path):
    import orchestrator as rung

    status = rung.run(write_experiment({"stop": {"trials": 15}}), tmp_path / "run")
    assert status == rung.status(tmp_path / "run")
    assert status["state"] == "finished" and status["trials"]["total"] == 15
    assert rung.best_config(tmp_path / "run") == status["best"]["config"]
    frame = rung.results(tmp_path / "run")
    assert set(frame["trial"]) == set(range(15))
    spec = yaml.safe_load(write_experiment().read_text())
    assert rung.run(spec, tmp_path / "from-dict", seed=3)["trials"]["total"] == 60
