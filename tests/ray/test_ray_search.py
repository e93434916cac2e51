"""Real training on a local Ray: checkpointed promotion, failures, stopping, resource accounting."""
from __future__ import annotations

import json

import pytest

from conftest import toy_experiment
from orchestrator.cli import main
from orchestrator.export import results_frame
from orchestrator.journal import Journal
from orchestrator.summary import summarize

pytestmark = pytest.mark.usefixtures("local_ray")


def events(directory, *kinds):
    with Journal.open(directory, readonly=True) as j:
        return list(j.events(kinds=kinds or None))


def test_promotion_resumes_from_checkpoints_and_resource_is_sum_of_highest_rungs(tmp_path):
    cfg = toy_experiment(tmp_path, stop={"trials": 14})
    assert main(["run", str(cfg), "--dir", str(tmp_path / "run"), "--quiet"]) == 0
    status = summarize(tmp_path / "run")
    frame = results_frame(tmp_path / "run")
    assert status["state"] == "finished" and status["trials"]["total"] == 14
    assert status["trials"]["failed"] == 0
    # each report's `trained` counter equals its epoch: promoted segments continued, never restarted
    assert (frame["trained"] == frame["resource"]).all()
    assert status["resource_used"] == frame.groupby("trial")["resource"].max().sum()
    promoted = {e.trial for e in events(tmp_path / "run", "promoted")}
    assert promoted, "some trial was promoted"
    # the learning curve of a promoted trial continues across segments: one report per epoch, in order
    for trial in promoted:
        epochs = list(frame[frame["trial"] == trial]["resource"])
        assert epochs == list(range(1, len(epochs) + 1))


def test_a_promoted_trial_can_resume_on_another_worker(tmp_path):
    cfg = toy_experiment(tmp_path, stop={"trials": 16}, workers=3)
    assert main(["run", str(cfg), "--dir", str(tmp_path / "run"), "--quiet"]) == 0
    workers: dict[int, list[str]] = {}
    for e in events(tmp_path / "run", "segment_ended"):
        workers.setdefault(e.trial, []).append(e.data["worker"])
    moved = [t for t, ws in workers.items() if len(set(w.split("@")[0] for w in ws)) > 1]
    assert moved, f"no promoted trial changed worker: {workers}"
    frame = results_frame(tmp_path / "run")
    for trial in moved:  # and its curve still continued from the checkpoint
        rows = frame[frame["trial"] == trial]
        assert (rows["trained"] == rows["resource"]).all()
        assert rows["pid"].nunique() > 1, "its segments ran in different worker processes"


def test_raising_and_nan_trainables_fail_their_trial_with_the_traceback(tmp_path):
    cfg = toy_experiment(tmp_path, stop={"trials": 12},
                         trainable={"function": toy_experiment.__globals__["TOY"]["trainable"]["function"],
                                    "args": {"fail_if_above": 0.7, "nan_if_below": 0.2}})
    assert main(["run", str(cfg), "--dir", str(tmp_path / "run"), "--quiet"]) == 0
    status = summarize(tmp_path / "run")
    assert status["trials"]["total"] == 12 and status["trials"]["failed"] > 0
    errors = [e.data["error"] for e in events(tmp_path / "run", "failed")]
    assert any("Traceback" in e and "diverged" in e for e in errors)
    assert any("nan" in e for e in errors)
    assert 0.2 <= status["best"]["config"]["x"] <= 0.7


def test_stopping_type_stops_segments_early_and_frees_workers(tmp_path):
    cfg = toy_experiment(tmp_path, scheduler={"type": "stopping"}, stop={"trials": 10})
    assert main(["run", str(cfg), "--dir", str(tmp_path / "run"), "--quiet"]) == 0
    status = summarize(tmp_path / "run")
    assert status["state"] == "finished" and status["trials"]["total"] == 10
    assert status["trials"]["stopped"] > 0
    frame = results_frame(tmp_path / "run")
    stopped = {e.trial: e.data["resource"] for e in events(tmp_path / "run", "stopped")}
    for trial, level in stopped.items():  # nothing of a stopped trial is recorded after its stop
        assert frame[frame["trial"] == trial]["resource"].max() == level


def test_checkpoints_of_unpromotable_trials_are_deleted(tmp_path):
    cfg = toy_experiment(tmp_path, stop={"trials": 12})
    run = tmp_path / "run"
    assert main(["run", str(cfg), "--dir", str(run), "--quiet"]) == 0
    status = summarize(run)
    left = sorted(p.parent.name for p in (run / "checkpoints").glob("trial-*/ckpt.pt"))
    completed = {e.trial for e in events(run, "completed")}
    keep = {f"trial-{t:06d}" for t in completed | {status["best"]["trial"]}}
    assert set(left) == keep


def test_status_json_of_a_ray_search_uses_the_wall_clock(tmp_path, capsys):
    cfg = toy_experiment(tmp_path, stop={"trials": 4})
    assert main(["run", str(cfg), "--dir", str(tmp_path / "run"), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["status", str(tmp_path / "run"), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["clock"] == "wall" and status["elapsed_seconds"] > 0
