"""`rung report` on a finished search that really trained on a local Ray (wall clock, per-epoch
results, checkpoints, a few failed trials)."""
from __future__ import annotations

import pytest

from ray_support import toy_experiment
from orchestrator.cli import main
from orchestrator.summary import summarize

pytestmark = pytest.mark.usefixtures("local_ray")
pytest.importorskip("matplotlib")

PLOTS = ("best_so_far", "learning_curves", "rung_occupancy", "top_configs", "importance")


def test_report_of_a_ray_search(tmp_path):
    cfg = toy_experiment(tmp_path, stop={"trials": 16}, trainable={"args": {"fail_if_above": 0.9}})
    run = tmp_path / "run"
    assert main(["run", str(cfg), "--dir", str(run), "--quiet"]) == 0
    status = summarize(run)
    assert status["state"] == "finished" and status["clock"] == "wall"
    assert main(["report", str(run)]) == 0
    import matplotlib.image as mpimg

    for name in PLOTS:
        path = run / "report" / f"{name}.png"
        raw = path.read_bytes()
        assert raw[:8] == b"\x89PNG\r\n\x1a\n" and len(raw) > 10_000, name
        assert mpimg.imread(path)[..., :3].std() > 0.02, f"{name} is blank"
    text = (run / "report" / "report.md").read_text()
    best = status["best"]
    assert f"trial {best['trial']}" in text and f"{best['value']:.6g}" in text
    assert "wall clock" in text
    if best.get("checkpoint"):
        assert best["checkpoint"] in text
