"""What a person sees while a search runs: a live view on a terminal, plain lines in logs."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from support import ROOT

SLOW = "import time\ndef f(config, resource):\n    time.sleep(0.003)\n    return {'value': config['x1'] ** 2 + 1.0 / resource, 'elapsed': resource}\n"


@pytest.fixture
def slow_cfg(tmp_path, write_experiment):
    (tmp_path / "slow.py").write_text(SLOW)
    return write_experiment({"trainable": {"blackbox": "slow.py:f", "args": None}, "stop": {"trials": 500}})


def test_live_view_on_a_terminal_updates_in_place(slow_cfg, tmp_path):
    pexpect = pytest.importorskip("pexpect")
    env = {**os.environ, "COLUMNS": "100", "LINES": "40", "TERM": "xterm-256color"}
    child = pexpect.spawn(sys.executable, ["-m", "orchestrator.cli", "run", str(slow_cfg), "--dir", str(tmp_path / "run")],
                          cwd=str(ROOT), env=env, encoding="utf-8", timeout=60, dimensions=(40, 100))
    seen = []
    while True:
        i = child.expect([r"trials(?:\s|\x1b\[[0-9;]*m)+(\d+) of 500", r"Search 'branin-test' finished", pexpect.EOF])
        if i == 0:
            seen.append(int(child.match.group(1)))
        else:
            break
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert len(set(seen)) >= 3, f"the live view was redrawn with new counts: {seen}"
    assert seen == sorted(seen) and seen[-1] == 500


def test_without_a_terminal_progress_is_plain_lines(slow_cfg, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "orchestrator.cli", "run", str(slow_cfg), "--dir", str(tmp_path / "run"),
                           "--verbose"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("[")]
    assert lines, proc.stderr
    assert all(re.match(r"\[\s*[\d.]+s wall \|\s*[\d.]+s sim\] trials \d+/500: running \d+", line) for line in lines)
    assert "rungs 1:" in lines[-1] and "\x1b[" not in proc.stderr  # no escape codes in logs
    assert "best value=" in lines[-1]


def test_quiet_prints_only_the_outcome(slow_cfg, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "orchestrator.cli", "run", str(slow_cfg), "--dir", str(tmp_path / "run"),
                           "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stderr == ""
    assert "Best value = " in proc.stdout


def test_status_from_another_terminal_while_the_search_runs(slow_cfg, tmp_path):
    """`rung status` reads the journal beside the writer (SQLite WAL) without disturbing it."""
    import json
    import time

    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "orchestrator.cli", "run", str(slow_cfg), "--dir", str(run), "--quiet"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    try:
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.3)
            if not (run / "journal.sqlite").exists():
                continue
            out = subprocess.run([sys.executable, "-m", "orchestrator.cli", "status", str(run), "--json"], cwd=ROOT,
                                 capture_output=True, text=True, timeout=30)
            assert out.returncode == 0, out.stderr
            status = json.loads(out.stdout)
            if status["state"] == "running":
                seen.append(status["trials"]["total"])
    finally:
        stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert seen and seen == sorted(seen), seen  # read live, counts only grow
    final = subprocess.run([sys.executable, "-m", "orchestrator.cli", "status", str(run), "--json"], cwd=ROOT,
                           capture_output=True, text=True, check=True)
    assert json.loads(final.stdout)["state"] == "finished" and json.loads(final.stdout)["trials"]["total"] == 500
