"""Kill -9 and Ctrl-C at arbitrary points, then resume: nothing completed is lost.

A real `rung` process is killed repeatedly at random moments (seeded, so a failure can be
replayed) and resumed each time. The journal is append-only, so every snapshot taken after a
kill must be a prefix of the final journal: nothing recorded before a kill may change.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support import ROOT
from orchestrator.export import results_frame
from orchestrator.journal import JOURNAL_FILE, Journal
from orchestrator.summary import summarize

SLOW_BLACKBOX = """
import math, time
def objective(config, resource):
    time.sleep(0.004)  # slow enough that a kill lands mid-search
    x1, x2 = config["x1"], config["x2"]
    value = (x2 - 0.13 * x1 ** 2 + 1.6 * x1 - 6) ** 2 + 10 * math.cos(x1) * (1 - resource / 27) + 10
    return {"value": value, "elapsed": resource * (1 + 0.1 * abs(x1))}
"""


def snapshot(directory: Path) -> list[tuple]:
    with Journal.open(directory, readonly=True) as j:
        return [(e.seq, e.kind, e.trial, e.time, json.dumps(e.data, sort_keys=True)) for e in j.events()]


def spawn(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "orchestrator.cli", *args, "--quiet"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)


def wait_for_journal(run: Path, proc: subprocess.Popen, timeout: float = 30) -> None:
    """Until `proc` has created its journal; fails instead of hanging if it never does."""
    deadline = time.monotonic() + timeout
    while not (run / JOURNAL_FILE).exists():
        assert proc.poll() is None, f"rung exited ({proc.returncode}) before creating {run / JOURNAL_FILE}"
        assert time.monotonic() < deadline, f"no journal in {run} after {timeout} s"
        time.sleep(0.01)


def _default_sigint() -> None:
    """A shell runs background jobs with SIGINT ignored, and Python keeps an ignored SIGINT
    ignored: restore the default so Ctrl-C reaches rung as it does in a terminal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def slow_experiment(tmp_path, write_experiment):
    (tmp_path / "slow.py").write_text(SLOW_BLACKBOX)

    def make(**changes):
        return write_experiment({"trainable": {"blackbox": "slow.py:objective", "args": None}, **changes})

    return make


@pytest.mark.parametrize("scheduler, seed", [("promotion", 1), ("stopping", 2)])
def test_sigkill_at_random_points_then_resume_loses_nothing(slow_experiment, tmp_path, scheduler, seed):
    trials = 250
    cfg = slow_experiment(stop={"trials": trials}, workers=4, scheduler={"type": scheduler})
    run = tmp_path / "run"
    rng = random.Random(seed)
    snapshots: list[list[tuple]] = []
    kills = 0
    proc = spawn("run", str(cfg), "--dir", str(run))
    for attempt in range(8):
        deadline = time.monotonic() + 30
        while not (run / JOURNAL_FILE).exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.05, 0.6))
        if proc.poll() is not None:
            break
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        snapshots.append(snapshot(run))
        if summarize(run)["state"] == "finished":  # killed while printing its summary
            proc = None
            break
        kills += 1
        assert summarize(run)["state"] == "interrupted"
        proc = spawn("resume", str(run))
    if proc is not None:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"exit {proc.returncode}: {err}"
    assert kills >= 2, "the search finished before it could be killed twice; slow the blackbox down"

    final = snapshot(run)
    for snap in snapshots:  # every event committed before a kill is still there, unchanged
        assert final[: len(snap)] == snap
    status = summarize(run)
    assert status["state"] == "finished"
    assert status["trials"]["total"] == trials and status["trials"]["running"] == 0
    created = [row[2] for row in final if row[1] == "trial_created"]
    assert created == list(range(trials)), "trial ids are unique and contiguous"
    frame = results_frame(run)
    for trial, group in frame.groupby("trial"):  # resumed from checkpoints, never re-reported
        levels = list(group["resource"])
        assert levels == sorted(set(levels)), (trial, levels)
    assert status["resource_used"] == frame.groupby("trial")["resource"].max().sum()
    assert status["trials"]["failed"] == 0


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(slow_experiment, tmp_path):
    cfg = slow_experiment(stop={"trials": 400}, workers=2)
    run = tmp_path / "run"
    proc = spawn("run", str(cfg), "--dir", str(run))
    wait_for_journal(run, proc)
    time.sleep(0.4)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert f"rung resume {run}" in err and "Traceback" not in err
    assert summarize(run)["state"] == "interrupted"
    before = snapshot(run)
    assert before[-1][1] == "run_ended" and '"interrupted"' in before[-1][4]
    proc = spawn("resume", str(run))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert snapshot(run)[: len(before)] == before
    assert summarize(run)["trials"]["total"] == 400


def test_resumed_search_continues_the_same_random_streams(slow_experiment, tmp_path):
    """After an interruption, decision d draws from the same stream as it would have."""
    cfg = slow_experiment(stop={"trials": 40}, workers=1)
    subprocess.run([sys.executable, "-m", "orchestrator.cli", "run", str(cfg), "--dir", str(tmp_path / "a"),
                    "--quiet"], cwd=ROOT, check=True, capture_output=True)
    run = tmp_path / "b"
    proc = spawn("run", str(cfg), "--dir", str(run))
    wait_for_journal(run, proc)
    time.sleep(0.15)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    subprocess.run([sys.executable, "-m", "orchestrator.cli", "resume", str(run), "--quiet"], cwd=ROOT,
                   check=True, capture_output=True)

    def configs(directory):
        with Journal.open(directory, readonly=True) as j:
            return {e.data["decision"]: e.data["config"] for e in j.events(kinds=("trial_created",))}

    a, b = configs(tmp_path / "a"), configs(run)
    shared = set(a) & set(b)
    assert len(shared) >= 20
    assert all(a[d] == b[d] for d in shared)
