"""Every example sweep validates, and the README's first search runs to the end."""
from __future__ import annotations

from pathlib import Path

import pytest

from support import ROOT, lcbench_available
from orchestrator.cli import main
from orchestrator.summary import summarize

EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def needs_lcbench(path: Path) -> bool:
    return "lcbench" in path.read_text()


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_validates(path, capsys):
    if needs_lcbench(path) and not lcbench_available():
        pytest.skip("LCBench surrogate data not found (../shared/benchmarks/yahpo/lcbench or RUNG_LCBENCH_DIR)")
    assert main(["validate", str(path)]) == 0
    assert ": ok:" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["hartmann6-asha.yaml", "hartmann3-stopping.yaml", "branin-hyperband.yaml"])
def test_synthetic_examples_run_to_their_stop_condition(name, tmp_path, capsys):
    assert main(["run", str(ROOT / "examples" / name), "--dir", str(tmp_path / "run"), "--quiet"]) == 0
    status = summarize(tmp_path / "run")
    assert status["state"] == "finished" and status["best"] is not None
    assert "Best value = " in capsys.readouterr().out


def test_readme_run_command_names_an_existing_example():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- run-command -->")[1].split("<!-- /run-command -->")[0]
    example = next(word for word in block.split() if word.startswith("examples/"))
    assert (ROOT / example).is_file()
