"""Losing a node mid-segment, and the driver killed with SIGKILL: the search goes on.

The multi-node test runs several Ray nodes on this machine (`ray.cluster_utils.Cluster`) and
removes one while a segment trains on it, as a real node loss would (Ray raises
`NodeDiedError`/`ActorDiedError` for it). The toy trainable's `trained` counter lives in its
checkpoint, so `trained == epoch` in every report proves segments resumed from checkpoints.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ray_support import HERE, toy_experiment
from orchestrator.export import results_frame
from orchestrator.journal import JOURNAL_FILE, Journal
from orchestrator.summary import summarize

ROOT = HERE.parents[1]


def rows(directory: Path) -> list[tuple]:
    with Journal.open(directory, readonly=True) as j:
        return [(e.seq, e.kind, e.trial, json.dumps(e.data, sort_keys=True)) for e in j.events()]


def assert_nothing_lost(run: Path, trials: int) -> None:
    status = summarize(run)
    assert status["state"] == "finished"
    assert status["trials"]["total"] == trials and status["trials"]["failed"] == 0
    with Journal.open(run, readonly=True) as j:
        created = [e.trial for e in j.events(kinds=("trial_created",))]
    assert created == list(range(trials)), "no trial lost or duplicated"
    frame = results_frame(run)
    assert (frame["trained"] == frame["resource"]).all(), "every segment continued from its checkpoint"
    for trial, group in frame.groupby("trial"):
        levels = list(group["resource"])
        assert levels == sorted(set(levels)), (trial, levels)
    assert status["resource_used"] == frame.groupby("trial")["resource"].max().sum()


def test_removing_a_node_mid_run_requeues_its_segments_from_checkpoints(tmp_path):
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    from orchestrator.experiment import load_experiment
    from orchestrator.runner import start

    if ray.is_initialized():
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False,
                                                           "object_store_memory": 80 * 2**20})
    workers = [cluster.add_node(num_cpus=1, object_store_memory=80 * 2**20) for _ in range(2)]
    cluster.wait_for_nodes()
    markers = tmp_path / "markers"
    markers.mkdir()
    trials = 10
    cfg = toy_experiment(tmp_path, workers=3, stop={"trials": trials},
                         trainable={"function": f"{HERE / 'toy_trainable.py'}:train",
                                    "args": {"epoch_seconds": 0.4, "marker_dir": str(markers)}})
    run = tmp_path / "run"
    ray.init(address=cluster.address, log_to_driver=False)
    outcome: dict = {}

    def search() -> None:
        try:
            start(load_experiment(cfg), run)
            outcome["ok"] = True
        except BaseException as err:  # surfaced by the assertion below
            outcome["error"] = err

    thread = threading.Thread(target=search)
    thread.start()
    try:
        victims = {node.node_id: node for node in workers}
        removed = None
        deadline = time.monotonic() + 60
        while removed is None and time.monotonic() < deadline and thread.is_alive():
            time.sleep(0.05)
            for path in markers.iterdir():
                if path.name in victims and time.time() - path.stat().st_mtime < 0.15:
                    cluster.remove_node(victims[path.name])  # mid-segment: it trains for >= 0.4 s
                    removed = path.name
                    break
        assert removed, "no segment ran on a removable node"
        thread.join(timeout=240)
        assert not thread.is_alive(), "the search did not finish after the node loss"
    finally:
        ray.shutdown()
        cluster.shutdown()
    assert outcome.get("ok"), outcome.get("error")
    with Journal.open(run, readonly=True) as j:
        events = list(j.events())
    lost = [e for e in events if e.kind == "segment_lost"]
    assert lost, "the node loss was noticed"
    for e in lost:  # the retried segment starts where the trial's last checkpoint was
        before = [c.data["resource"] for c in events if c.kind == "checkpoint" and c.trial == e.trial and c.seq < e.seq]
        retry = next(s for s in events if s.kind == "segment_started" and s.trial == e.trial and s.seq > e.seq)
        assert retry.data["start"] == (max(before) if before else 0)
    assert_nothing_lost(run, trials)


def test_driver_killed_with_sigkill_then_resume_on_ray(tmp_path):
    pytest.importorskip("ray")
    trials = 12
    cfg = toy_experiment(tmp_path, stop={"trials": trials},
                         trainable={"function": f"{HERE / 'toy_trainable.py'}:train", "args": {"epoch_seconds": 0.15}})
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "orchestrator.cli", "run", str(cfg), "--dir", str(run), "--quiet"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    results = 0
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        if (run / JOURNAL_FILE).exists():
            with Journal.open(run, readonly=True) as j:
                results = j.count("result")
            if results >= 8:
                break
    assert proc.poll() is None and results >= 8, "the search ended or stalled before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and the embedded Ray it started
    proc.communicate(timeout=30)
    before = rows(run)
    assert summarize(run)["state"] == "interrupted"
    resumed = subprocess.run([sys.executable, "-m", "orchestrator.cli", "resume", str(run), "--quiet"], cwd=ROOT,
                             env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert rows(run)[: len(before)] == before, "everything recorded before the kill is unchanged"
    assert_nothing_lost(run, trials)
