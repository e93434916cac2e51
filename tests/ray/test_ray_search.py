"""Real training on a local Ray: checkpointed promotion, failures, stopping, resource accounting."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ray_support import toy_experiment
from orchestrator.cli import main
from orchestrator.export import results_frame
from orchestrator.journal import Journal
from orchestrator.summary import summarize

pytestmark = pytest.mark.usefixtures("local_ray")
TRAIN = toy_experiment.__globals__["TOY"]["trainable"]["function"]


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


def test_a_promoted_trial_resumes_on_another_worker_from_its_checkpoint(tmp_path):
    """Drive the executor as the loop does: pause a trial at rung 1 on one worker, promote it
    while another worker has been idle longer, and check its curve continues there."""
    from cluster.storage import Storage
    from orchestrator.executors.base import CheckpointSaved, Report, Segment, SegmentDone
    from orchestrator.executors.ray import RayExecutor

    ex = RayExecutor(trainable_ref=TRAIN, trainable_args={}, base_dir=str(tmp_path), storage=Storage.open(str(tmp_path)),
                     workers=2, ray_options={"num_cpus": 1}, threads=1, use_gpu=False, seed=0, max_level=9)
    config = {"x": 0.4, "lr": 0.01}

    def run_segment(start, target):
        while ex.free_workers() == 0:
            ex.poll()
        ex.launch(Segment(0, config, start, target, tuple(r for r in (1, 3, 9) if start < r <= target)))
        seen = []
        while True:
            for event in ex.poll():
                seen.append(event)
                if isinstance(event, SegmentDone):
                    return seen

    try:
        first = run_segment(0, 1)
        second = run_segment(1, 3)
    finally:
        ex.close()
    done1, done2 = first[-1], second[-1]
    assert done1.worker.split("@")[0] != done2.worker.split("@")[0], (done1.worker, done2.worker)
    reports = [e for e in first + second if isinstance(e, Report)]
    assert [r.resource for r in reports] == [1, 2, 3]
    assert [r.metrics["trained"] for r in reports] == [1.0, 2.0, 3.0]  # resumed, not retrained
    assert reports[0].metrics["pid"] != reports[-1].metrics["pid"]  # another worker process
    assert any(isinstance(e, CheckpointSaved) and e.resource == 1 for e in first)
    assert any(isinstance(e, CheckpointSaved) and e.resource == 3 for e in second)


def test_curves_continue_wherever_segments_run_in_a_search(tmp_path):
    cfg = toy_experiment(tmp_path, stop={"trials": 16}, workers=3)
    assert main(["run", str(cfg), "--dir", str(tmp_path / "run"), "--quiet"]) == 0
    frame = results_frame(tmp_path / "run")
    for trial, rows in frame.groupby("trial"):  # wherever segments ran, curves continued
        assert (rows["trained"] == rows["resource"]).all()


def test_raising_and_nan_trainables_fail_their_trial_with_the_traceback(tmp_path):
    cfg = toy_experiment(tmp_path, stop={"trials": 12},
                         trainable={"function": TRAIN,
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
    left = sorted({p.parent.name for p in (run / "checkpoints").glob("trial-*/ckpt-*.pt")})
    completed = {e.trial for e in events(run, "completed")}
    keep = {f"trial-{t:06d}" for t in completed | {status["best"]["trial"]}}
    assert set(left) == keep
    assert Path(status["best"]["checkpoint"]).is_file()  # the best model is kept, and its path reported


def test_status_json_of_a_ray_search_uses_the_wall_clock(tmp_path, capsys):
    cfg = toy_experiment(tmp_path, stop={"trials": 4})
    assert main(["run", str(cfg), "--dir", str(tmp_path / "run"), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["status", str(tmp_path / "run"), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["clock"] == "wall" and status["elapsed_seconds"] > 0
