"""`rung report DIR`: every plot is written as a valid PNG and report.md names the best."""
from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.summary import summarize

pytest.importorskip("matplotlib")

PLOTS = ("best_so_far", "learning_curves", "rung_occupancy", "top_configs", "importance")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_cli(*args: object) -> int:
    return main([str(a) for a in args])


def check_png(path: Path) -> None:
    """A real, non-trivial PNG that an image reader opens (not an empty or blank file)."""
    assert path.is_file(), f"{path} missing"
    raw = path.read_bytes()
    assert raw[:8] == PNG_MAGIC, f"{path} is not a PNG"
    assert len(raw) > 10_000, f"{path} is suspiciously small ({len(raw)} bytes)"
    import matplotlib.image as mpimg

    image = mpimg.imread(path)
    assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 300
    assert image[..., :3].std() > 0.02, f"{path} is blank"


def check_report(directory: Path, out: Path | None = None, extra: tuple[str, ...] = ()) -> str:
    folder = out or directory / "report"
    text = (folder / "report.md").read_text()
    for name in (*PLOTS, *extra):
        check_png(folder / f"{name}.png")
        assert f"]({name}.png)" in text, f"report.md does not link {name}.png"
    best = summarize(directory)["best"]
    assert f"trial {best['trial']}" in text and f"{best['value']:.6g}" in text
    assert "## Top" in text and "p50" in text and "## Stop condition" in text
    return text


def test_report_of_a_promotion_search(write_experiment, tmp_path, capsys):
    cfg = write_experiment({"stop": {"trials": 80}})
    assert run_cli("run", cfg, "--dir", tmp_path / "run", "--quiet") == 0
    capsys.readouterr()
    assert run_cli("report", tmp_path / "run") == 0
    assert "report.md" in capsys.readouterr().out
    text = check_report(tmp_path / "run")
    assert "Reached: trials" in text
    assert not (tmp_path / "run" / "report" / "gp_fit.png").exists()


def test_report_to_another_folder_and_bad_out(write_experiment, tmp_path, capsys):
    cfg = write_experiment({"stop": {"trials": 30}})
    assert run_cli("run", cfg, "--dir", tmp_path / "run", "--quiet") == 0
    assert run_cli("report", tmp_path / "run", "--out", tmp_path / "elsewhere" / "rep") == 0
    check_report(tmp_path / "run", out=tmp_path / "elsewhere" / "rep")
    (tmp_path / "afile").write_text("x")
    capsys.readouterr()
    assert run_cli("report", tmp_path / "run", "--out", tmp_path / "afile") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is a file" in err[0]
    assert run_cli("report", tmp_path / "run", "--out", tmp_path / "afile" / "sub") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot write the report there" in err[0]
    assert run_cli("report", tmp_path / "nothing") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no search here" in err[0]


def test_report_with_failed_trials(write_experiment, tmp_path):
    (tmp_path / "flaky.py").write_text(
        "import math\n"
        "def objective(config, resource):\n"
        "    if config['x'] > 0.8:\n"
        "        raise RuntimeError('diverged')\n"
        "    if config['opt'] == 'sgd' and config['x'] < 0.1:\n"
        "        return {'loss': math.nan, 'elapsed': resource}\n"
        "    extra = config.get('momentum', 0.5) if config['opt'] == 'sgd' else 0.2\n"
        "    return {'loss': (config['x'] - 0.3) ** 2 + extra + 1.0 / resource, 'elapsed': resource}\n")
    cfg = write_experiment({"metric": "loss", "trainable": {"blackbox": "flaky.py:objective", "args": None},
                            "space": {"x1": None, "x2": None, "x": {"type": "float", "low": 0.0, "high": 1.0},
                                      "opt": {"type": "choice", "values": ["sgd", "adam"]},
                                      "momentum": {"type": "float", "low": 0.0, "high": 0.99, "when": {"opt": "sgd"}}},
                            "stop": {"trials": 80}})
    assert run_cli("run", cfg, "--dir", tmp_path / "run", "--quiet") == 0
    assert summarize(tmp_path / "run")["trials"]["failed"] > 0
    assert run_cli("report", tmp_path / "run") == 0
    text = check_report(tmp_path / "run")
    assert "| momentum |" in text and " - |" in text  # the conditional parameter, absent in some top trials


def test_report_of_a_stopping_search_with_brackets(write_experiment, tmp_path):
    cfg = write_experiment({"scheduler": {"type": "stopping", "brackets": 2}, "stop": {"trials": 60},
                            "searcher": {"type": "random"}})
    assert run_cli("run", cfg, "--dir", tmp_path / "run", "--quiet") == 0
    assert summarize(tmp_path / "run")["trials"]["stopped"] > 0
    assert run_cli("report", tmp_path / "run") == 0
    check_report(tmp_path / "run")


def test_report_of_a_gp_search(write_experiment, tmp_path):
    from orchestrator.searchers import SEARCHERS

    if "gp" not in SEARCHERS:
        pytest.skip("searcher type gp is not registered in orchestrator.searchers.SEARCHERS")
    pytest.importorskip("botorch")
    cfg = write_experiment({"searcher": {"type": "gp", "candidates": 100}, "stop": {"trials": 40}, "workers": 2})
    assert run_cli("run", cfg, "--dir", tmp_path / "run", "--quiet") == 0
    assert run_cli("report", tmp_path / "run") == 0
    text = check_report(tmp_path / "run", extra=("gp_fit",))
    assert "held-out" in text


def test_report_of_a_tiny_search_says_why_gp_fit_is_missing(write_experiment, tmp_path):
    pytest.importorskip("botorch")
    cfg = write_experiment({"searcher": {"type": "gp"}, "stop": {"trials": 3}, "workers": 1})
    assert run_cli("run", cfg, "--dir", tmp_path / "run", "--quiet") == 0
    assert run_cli("report", tmp_path / "run") == 0
    text = (tmp_path / "run" / "report" / "report.md").read_text()
    assert "gp fit" in text and "Not drawn:" in text
    assert not (tmp_path / "run" / "report" / "gp_fit.png").exists()
    for name in PLOTS:  # every plot is still a valid PNG, saying why it is (nearly) empty
        assert (tmp_path / "run" / "report" / f"{name}.png").read_bytes()[:8] == PNG_MAGIC
