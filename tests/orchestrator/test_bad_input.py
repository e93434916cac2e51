"""Bad input through the real CLI: exit code 2, ONE line on stderr, never a traceback.

The contract (DESIGN.md section 2): every user-fixable mistake exits with 2 and prints exactly one
line on stderr naming the file (or folder), the key path where one applies, and the problem. A bad
`rung run/resume/status/export` on a folder that already holds a search changes nothing in it.

Each experiment-YAML case is one row of data: a deep update of a valid base experiment (MF-Branin,
simulated) that breaks one thing, checked through both `rung validate` and `rung run`. Most cases
call `orchestrator.cli.main` in-process (fast); a few go through a real subprocess to prove that no
traceback reaches the terminal.
"""
from __future__ import annotations

import copy
import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.cli import main

REPO = Path(__file__).resolve().parents[2]

BASE: dict[str, Any] = {
    "name": "bad-input",
    "metric": "value",
    "mode": "min",
    "resource": {"name": "epoch", "min": 1, "max": 27, "reduction_factor": 3},
    "scheduler": {"type": "promotion", "brackets": 1},
    "searcher": {"type": "random"},
    "stop": {"trials": 10},
    "workers": 2,
    "seed": 0,
    "trainable": {"blackbox": "trainables.blackboxes:mf_branin"},
    "space": {
        "x1": {"type": "float", "low": -5.0, "high": 10.0},
        "x2": {"type": "float", "low": 0.0, "high": 15.0},
    },
}

DELETE = object()  # in a patch: remove this key


@dataclass(frozen=True)
class Replace:
    """In a patch: replace the value whole instead of merging mappings key by key."""

    value: Any


def deep_update(base: Any, patch: Any) -> Any:
    """`base` with `patch` applied: mappings merge recursively, DELETE removes, Replace replaces."""
    if isinstance(patch, Replace):
        return copy.deepcopy(patch.value)
    if not (isinstance(base, dict) and isinstance(patch, dict)):
        return copy.deepcopy(patch)
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if value is DELETE:
            out.pop(key, None)
        elif key in out:
            out[key] = deep_update(out[key], value)
        else:
            out[key] = deep_update(None, value)
    return out


def write_experiment(folder: Path, patch: Any = None, name: str = "exp.yaml", text: str | None = None) -> Path:
    """Write the base experiment (with `patch` applied, or the raw `text`) to `folder/name`."""
    path = folder / name
    if text is None:
        text = yaml.safe_dump(deep_update(BASE, patch or {}), sort_keys=False)
    path.write_text(text)
    return path


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run `rung ARGV` in-process; (exit code, stdout, stderr). argparse's SystemExit included."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse errors
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def assert_bad_input(code: int, err: str, *fragments: str) -> str:
    """Exit 2, exactly one non-empty line on stderr holding every fragment, no traceback."""
    assert "Traceback" not in err, err
    assert code == 2, (code, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].strip(), f"expected one line on stderr, got {len(lines)}:\n{err}"
    line = lines[0]
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} not in: {line}"
    return line


# --------------------------------------------------------------------------- data for LCBench cases
def fake_lcbench_dir(folder: Path) -> Path:
    """A minimal YAHPO lcbench folder (one task, 3945): enough metadata to construct, no model."""
    root = folder / "lcbench-data"
    root.mkdir()
    (root / "model.onnx").write_bytes(b"")
    (root / "encoding.json").write_text(json.dumps({"OpenML_task_id": {"3945": 0}}))
    (root / "config_space.json").write_text(json.dumps(
        {"hyperparameters": [{"name": "OpenML_task_id", "choices": ["3945"]}]}))
    (root / "instance_target_statistics_lcbench.csv").write_text("instance,metric,statistic,value\n")
    return root


LCBENCH = {"trainable": Replace({"blackbox": "trainables.blackboxes:lcbench",
                                 "args": {"task": "3945", "metric": "val_error"}}),
           "metric": "val_error", "resource": {"max": 52}, "space": Replace({"include": "lcbench"})}


# --------------------------------------------------------------------------- the table of YAML cases
@dataclass(frozen=True)
class Case:
    patch: Any = None                 # deep update of BASE
    text: str | None = None           # raw file text instead of a patch
    fragments: tuple[str, ...] = ()   # must all appear in the one stderr line ({dir} = tmp_path)
    files: dict[str, str] = field(default_factory=dict)  # extra files next to the YAML


def case(kind: str, patch: Any = None, *fragments: str, text: str | None = None,
         files: dict[str, str] | None = None) -> Any:
    return pytest.param(Case(patch, text, fragments, files or {}), id=kind)


CASES = [
    # ---- the file itself
    case("yaml-syntax-error", None, "line 2, column 14", "YAML syntax error", "mapping values are not allowed",
         text="name: x\nmetric: value: extra\nstop: {trials: 3}\n"),
    case("yaml-unclosed-bracket", None, "line 4, column 5", "YAML syntax error", "expected ',' or ']'",
         text="name: x\nmetric: value\nspace: {x1: [1, 2\nstop: {trials: 3}\n"),
    case("yaml-tab-indent", None, "YAML syntax error", "line 2", text="name: x\n\tmetric: value\n"),
    case("empty-file", None, "file is empty", "metric, resource, trainable, space, stop", text=""),
    case("comments-only-file", None, "file is empty", text="# nothing here\n"),
    case("top-level-list", None, "top level must be a mapping", "list", text="- metric\n- value\n"),
    case("top-level-scalar", None, "top level must be a mapping", "str", text="just a string\n"),
    # ---- top-level keys
    case("unknown-top-key", {"serach": {"type": "random"}}, "serach", "unknown key", "did you mean 'searcher'"),
    case("missing-metric", {"metric": DELETE}, "metric: missing required key"),
    case("missing-resource", {"resource": DELETE}, "resource: missing required key"),
    case("missing-trainable", {"trainable": DELETE}, "trainable: missing required key"),
    case("missing-space", {"space": DELETE}, "space: missing required key"),
    case("missing-stop", {"stop": DELETE}, "stop: missing required key", "trials"),
    case("name-empty", {"name": ""}, "name:", "non-empty string"),
    case("metric-not-string", {"metric": 3}, "metric:", "non-empty string"),
    case("workers-string", {"workers": "four"}, "workers:", "integer", "'four'"),
    case("workers-zero", {"workers": 0}, "workers:", "at least 1"),
    case("workers-bool", {"workers": True}, "workers:", "integer"),
    case("seed-negative", {"seed": -1}, "seed:", "at least 0", "-1"),
    case("mode-maximize", {"mode": "maximize"}, "mode:", "min, max", "'maximize'"),
    # ---- resource
    case("resource-not-mapping", {"resource": Replace(27)}, "resource:", "mapping"),
    case("resource-missing-max", {"resource": {"max": DELETE}}, "resource.max", "missing"),
    case("resource-low-ge-high", {"resource": {"min": 27, "max": 27}}, "resource.max", "must be greater than resource.min"),
    case("resource-min-negative", {"resource": {"min": -1}}, "resource.min", "greater than 0"),
    case("resource-min-string", {"resource": {"min": "one"}}, "resource.min", "number", "'one'"),
    case("reduction-factor-one", {"resource": {"reduction_factor": 1}}, "resource.reduction_factor", "greater than 1"),
    case("reduction-factor-negative", {"resource": {"reduction_factor": -2}}, "resource.reduction_factor", "greater than 1"),
    case("resource-unknown-key", {"resource": {"maximum": 3}}, "resource.maximum", "unknown key", "did you mean 'max'"),
    # ---- scheduler / searcher
    case("too-many-brackets", {"scheduler": {"brackets": 9}}, "scheduler.brackets", "at most 4", "got 9"),
    case("zero-brackets", {"scheduler": {"brackets": 0}}, "scheduler.brackets", "at least 1"),
    case("unknown-scheduler", {"scheduler": {"type": "hyperband"}}, "scheduler.type", "promotion", "'hyperband'"),
    case("scheduler-unknown-key", {"scheduler": {"bracket": 2}}, "scheduler.bracket", "did you mean 'brackets'"),
    case("unknown-searcher", {"searcher": {"type": "bayes"}}, "searcher.type", "random", "'bayes'"),
    case("unknown-searcher-option", {"searcher": {"max_redraw": 5}}, "searcher.max_redraw",
         "unknown option of the random searcher", "did you mean 'max_redraws'"),
    # ---- stop
    case("stop-empty", {"stop": Replace({})}, "stop:", "at least one of trials"),
    case("stop-null", {"stop": Replace(None)}, "stop:", "at least one of trials"),
    case("stop-not-mapping", {"stop": Replace(10)}, "stop:", "mapping", "int"),
    case("stop-unknown-key", {"stop": {"trails": 5}}, "stop.trails", "unknown key", "did you mean 'trials'"),
    case("stop-trials-zero", {"stop": {"trials": 0}}, "stop.trials", "at least 1", "got 0"),
    case("stop-wall-negative", {"stop": Replace({"wall_seconds": -5})}, "stop.wall_seconds", "greater than 0"),
    # ---- executor
    case("unknown-executor", {"executor": {"type": "dask"}}, "executor.type", "simulated", "'dask'"),
    case("executor-unknown-option", {"executor": {"type": "simulated", "gpus": 1}}, "executor.gpus",
         "simulated executor"),
    case("function-on-simulated", {"trainable": Replace({"function": "trainables.blackboxes:mf_branin"}),
                                   "executor": {"type": "simulated"}}, "executor.type", "trainable.blackbox"),
    # ---- trainable references
    case("function-and-blackbox", {"trainable": {"function": "trainables.blackboxes:mf_branin"}},
         "trainable:", "exactly one of 'function'", "'blackbox'"),
    case("neither-function-nor-blackbox", {"trainable": Replace({"args": {}})}, "trainable:", "exactly one"),
    case("trainable-unknown-key", {"trainable": {"arg": {}}}, "trainable.arg", "did you mean 'args'"),
    case("ref-without-colon", {"trainable": {"blackbox": "trainables.blackboxes.mf_branin"}},
         "trainable.blackbox", "'module:attr'"),
    case("unknown-trainable-module", {"trainable": {"blackbox": "trainables.nosuchmodule:f"}},
         "trainable.blackbox", "cannot import module 'trainables.nosuchmodule'"),
    case("attribute-missing-in-module", {"trainable": {"blackbox": "trainables.blackboxes:mf_brainin"}},
         "trainable.blackbox", "has no attribute 'mf_brainin'", "mf_branin"),
    case("trainable-not-callable", {"trainable": {"blackbox": "trainables.blackboxes:LCBENCH_METRICS"}},
         "trainable.blackbox", "not callable"),
    case("trainable-file-missing", {"trainable": {"blackbox": "bb/objective.py:f"}},
         "trainable.blackbox", "{dir}/bb/objective.py", "does not exist"),
    case("trainable-file-raises-on-import", {"trainable": {"blackbox": "boom.py:f"}},
         "trainable.blackbox", "boom.py raised RuntimeError", "kaboom",
         files={"boom.py": "def f(config, resource):\n    return {}\nraise RuntimeError('kaboom')\n"}),
    case("trainable-file-syntax-error", {"trainable": {"blackbox": "broken.py:f"}},
         "trainable.blackbox", "broken.py", "SyntaxError", files={"broken.py": "def f(config, resource:\n"}),
    case("trainable-file-missing-attr", {"trainable": {"blackbox": "ok.py:g"}},
         "trainable.blackbox", "has no attribute 'g'", files={"ok.py": "def f(config, resource):\n    return {}\n"}),
    case("trainable-args-not-mapping", {"trainable": {"args": [1, 2]}}, "trainable.args", "mapping"),
    case("blackbox-args-not-accepted", {"trainable": {"args": {"nosie": 0.1}}}, "trainable.args.nosie",
         "not accepted by trainables.blackboxes:mf_branin", "did you mean 'noise'"),
    case("blackbox-args-unknown-name", {"trainable": {"blackbox": "kw.py:B", "args": {"zzz": 1}}},
         "trainable.args.zzz", "not accepted by kw.py:B", "it takes: size, seed",
         files={"kw.py": "class B:\n    def __init__(self, size=1, seed=0):\n        pass\n"}),
    case("blackbox-args-missing-required", {"trainable": {"blackbox": "need.py:B"}}, "trainable.args",
         "missing 1 required", "path", files={"need.py": "class B:\n    def __init__(self, path):\n        pass\n"}),
    case("blackbox-factory-raises", {"trainable": {"blackbox": "fac.py:make"}}, "trainable.args",
         "fac.py:make(...) raised RuntimeError: no GPU here",
         files={"fac.py": "def make():\n    raise RuntimeError('no GPU here')\n"}),
    case("blackbox-factory-not-callable", {"trainable": {"blackbox": "fac.py:make"}}, "trainable.blackbox",
         "did not return a callable", files={"fac.py": "def make(size=3):\n    return size\n"}),
    case("blackbox-args-bad-value", {"trainable": {"args": {"noise": -1}}}, "trainable.args", "noise"),
    case("lcbench-missing-data-dir", deep_update(LCBENCH, {"trainable": Replace(
        {"blackbox": "trainables.blackboxes:lcbench", "args": {"data_dir": "/nonexistent", "task": "3945"}})}),
         "trainable.args", "LCBench surrogate data not found", "/nonexistent"),
    case("lcbench-unknown-task", deep_update(LCBENCH, {"trainable": Replace(
        {"blackbox": "trainables.blackboxes:lcbench", "args": {"data_dir": "{dir}/lcbench-data", "task": "99999"}})}),
         "trainable.args", "unknown LCBench task '99999'"),
    case("lcbench-unknown-metric", deep_update(LCBENCH, {"trainable": Replace(
        {"blackbox": "trainables.blackboxes:lcbench", "args": {"data_dir": "{dir}/lcbench-data", "metric": "acc"}})}),
         "trainable.args", "unknown LCBench metric 'acc'"),
    # ---- the experiment does not fit the blackbox (every trial would fail)
    case("space-lacks-blackbox-param", {"space": {"x2": DELETE}}, "space:", "no parameter 'x2'", "mf_branin needs"),
    case("space-outside-blackbox-box", {"space": {"x1": {"high": 20.0}}}, "space.x1", "[-5, 20]",
         "outside the range", "[-5, 10]"),
    case("resource-beyond-blackbox", {"resource": {"max": 100}}, "resource.max", "largest epoch", "(81)"),
    case("resource-below-blackbox", {"resource": {"min": 0.5}}, "resource.min", "smallest epoch", "(1)"),
    case("space-constant-not-a-number", {"space": {"x1": Replace("five")}}, "space.x1", "takes numbers in [-5, 10]",
         "'five'"),
    case("space-choice-outside-blackbox-box", {"space": {"x2": Replace({"type": "choice", "values": [1, 30]})}},
         "space.x2", "[0, 15]", "30"),
    case("workers-huge", {"workers": 10**30}, "workers:", "at most 100000"),
    case("rungs-not-whole-epochs", {"resource": {"reduction_factor": 2.5}}, "resource.reduction_factor",
         "2.5, 6.25", "whole epochs"),
    # ---- the space
    case("space-not-mapping", {"space": Replace([1, 2])}, "space:", "mapping", "list"),
    case("space-empty", {"space": Replace({})}, "space:", "empty"),
    case("space-unknown-param-type", {"space": {"x1": {"type": "flaot"}}}, "space.x1.type", "unknown type 'flaot'",
         "did you mean 'float'"),
    case("space-low-gt-high", {"space": {"x1": {"low": 20.0}}}, "space.x1", "low (20.0) must be below high (10.0)"),
    case("space-log-low-nonpositive", {"space": {"x2": {"log": True}}}, "space.x2.low", "log: true needs low > 0"),
    case("space-unknown-param-key", {"space": {"x1": {"hgih": 3}}}, "space.x1.hgih", "did you mean 'high'"),
    case("space-bound-not-number", {"space": {"x1": {"low": "abc"}}}, "space.x1.low", "number", "'abc'"),
    case("space-int-bound-float", {"space": {"n": {"type": "int", "low": 1.5, "high": 4}}}, "space.n.low", "integers"),
    case("space-condition-unknown-parent", {"space": {"x2": {"when": {"opt": "sgd"}}}}, "space.x2.when.opt",
         "unknown parent 'opt'"),
    case("space-condition-cycle", {"space": {"a": {"type": "bool", "when": {"b": True}},
                                             "b": {"type": "bool", "when": {"a": True}}}},
         "space.a.when", "condition cycle", "a -> b -> a"),
    case("space-unknown-fragment", {"space": Replace({"include": "lcbnech"})}, "space.include",
         "unknown fragment 'lcbnech'", "did you mean 'lcbench'"),
    case("space-include-file-missing", {"space": Replace({"include": "frag.yaml"})}, "space.include", "not found",
         "{dir}/frag.yaml"),
    case("space-condition-value-never-taken", {"space": {"opt": {"type": "choice", "values": ["sgd", "adamw"]},
                                                         "x2": {"when": {"opt": "adam"}}}},
         "space.x2.when.opt", "'adam'", "never a value of opt"),
    case("space-empty-choice-values", {"space": {"opt": {"type": "choice", "values": []}}}, "space.opt.values", "empty"),
    case("space-duplicate-choice-values", {"space": {"opt": {"type": "choice", "values": ["a", "a"]}}},
         "space.opt.values", "duplicate"),
]


def _fill(value: Any, directory: Path) -> Any:
    if isinstance(value, str):
        return value.replace("{dir}", str(directory))
    if isinstance(value, Replace):
        return Replace(_fill(value.value, directory))
    if isinstance(value, dict):
        return {k: _fill(v, directory) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, directory) for v in value]
    return value


@pytest.mark.parametrize("c", CASES)
def test_bad_experiment_yaml(c: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake_lcbench_dir(tmp_path)
    for name, content in c.files.items():
        (tmp_path / name).write_text(content)
    config = write_experiment(tmp_path, _fill(c.patch, tmp_path), text=c.text)
    fragments = [f.replace("{dir}", str(tmp_path)) for f in c.fragments]

    code, out, err = cli(capsys, "validate", config)
    line = assert_bad_input(code, err, *fragments)
    assert line.startswith(f"rung: {config}: "), line  # names the file first
    assert "ok" not in out

    out_dir = tmp_path / "out"
    code, out, err = cli(capsys, "run", config, "--dir", out_dir, "--quiet")
    assert assert_bad_input(code, err, *fragments) == line  # same one line as validate
    assert not out_dir.exists(), "a bad experiment must not create its search folder"


def _key_paths(data: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for key, value in data.items():
        out.append(prefix + (key,))
        if isinstance(value, dict):
            out.extend(_key_paths(value, prefix + (key,)))
    return out


@pytest.mark.parametrize("path", [".".join(p) for p in _key_paths(BASE)])
def test_any_value_at_any_key_is_handled(path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A sweep of wrong types and extreme values at every key of the base experiment: `validate`
    either accepts the file or gives one line naming the key; it never raises."""
    for value in (None, "x", 3, -1, 0, 1.5, True, [], [1], {}, {"a": 1}, float("nan"), 10**30):
        patch: Any = Replace(value)
        for key in reversed(path.split(".")):
            patch = {key: patch}
        config = write_experiment(tmp_path, patch)
        code, _, err = cli(capsys, "validate", config)
        if code != 0:
            assert_bad_input(code, err, f"{config}: ")


def test_base_experiment_is_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The table above breaks one thing each of an experiment that validates and runs cleanly
    (a factory such as mf_branin given without args is called to build the blackbox)."""
    config = write_experiment(tmp_path, {"stop": {"trials": 4}})
    code, out, err = cli(capsys, "validate", config)
    assert code == 0 and "ok" in out, err
    code, out, err = cli(capsys, "run", config, "--dir", tmp_path / "out", "--quiet")
    assert code == 0 and err == "", err
    code, out, err = cli(capsys, "status", tmp_path / "out", "--json")
    trials = json.loads(out)["trials"]
    assert trials["failed"] == 0 and trials["total"] == 4, trials


# --------------------------------------------------------------------------- file-level and CLI-flag cases
def test_file_not_found(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.yaml"
    for argv in (("validate", missing), ("run", missing, "--dir", tmp_path / "out")):
        code, _, err = cli(capsys, *argv)
        assert_bad_input(code, err, str(missing), "file not found")
    assert not (tmp_path / "out").exists()


def test_directory_instead_of_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "validate", tmp_path)
    assert_bad_input(code, err, str(tmp_path), "is a directory")


def test_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "exp.yaml"
    path.write_bytes(b"name: \xff\xfe\n")
    code, _, err = cli(capsys, "validate", path)
    assert_bad_input(code, err, str(path), "cannot read")


@pytest.mark.parametrize("flag, value, fragment", [
    pytest.param("--workers", "0", "--workers: must be at least 1", id="workers-flag-zero"),
    pytest.param("--workers", "-3", "--workers: must be at least 1", id="workers-flag-negative"),
    pytest.param("--seed", "-1", "--seed: must be at least 0", id="seed-flag-negative"),
])
def test_bad_run_flags(flag: str, value: str, fragment: str, tmp_path: Path,
                       capsys: pytest.CaptureFixture[str]) -> None:
    config = write_experiment(tmp_path)
    code, _, err = cli(capsys, "run", config, "--dir", tmp_path / "out", flag, value, "--quiet")
    assert_bad_input(code, err, fragment)
    assert not (tmp_path / "out").exists()


def test_run_dir_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_experiment(tmp_path)
    afile = tmp_path / "afile"
    afile.write_text("keep me\n")
    code, _, err = cli(capsys, "run", config, "--dir", afile, "--quiet")
    assert_bad_input(code, err, "--dir", str(afile), "is a file")
    code, _, err = cli(capsys, "run", config, "--dir", afile / "sub", "--quiet")
    assert_bad_input(code, err, "--dir", str(afile / "sub"), "cannot create it", "is a file")
    assert afile.read_text() == "keep me\n"


def test_argparse_errors_have_no_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # argparse's own usage errors exit with 2 too (usage line + error line); no traceback.
    for argv, fragment in ((("export", tmp_path, "--format", "xml"), "invalid choice: 'xml'"),
                           (("run", "x.yaml", "--workers", "four"), "invalid int value: 'four'"),
                           (("frobnicate",), "invalid choice: 'frobnicate'")):
        code, out, err = cli(capsys, *argv)
        assert code == 2, (argv, code)
        assert "Traceback" not in err and fragment in err, err


# --------------------------------------------------------------------------- searches on disk
def journal_bytes(directory: Path) -> tuple[bytes, bytes]:
    """The journal's state on disk: the database file and its write-ahead log (empty if absent).

    The ``-shm`` file is SQLite's shared-memory index, rebuilt from these two; a read-only
    connection may leave an empty ``-wal`` and a ``-shm`` behind, which holds no data.
    """
    wal = directory / "journal.sqlite-wal"
    return (directory / "journal.sqlite").read_bytes(), wal.read_bytes() if wal.exists() else b""


@pytest.fixture
def finished_search(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path]:
    """A tiny finished search whose blackbox lives in a file next to its YAML."""
    (tmp_path / "bb.py").write_text(
        "from trainables.blackboxes import mf_branin\nf = mf_branin(noise=0.0)\n")
    config = write_experiment(tmp_path, {"trainable": {"blackbox": "bb.py:f"}, "stop": {"trials": 4}})
    directory = tmp_path / "search"
    code, _, err = cli(capsys, "run", config, "--dir", directory, "--quiet")
    assert code == 0, err
    return config, directory


def _mark_interrupted(directory: Path) -> None:
    """Make a finished search look interrupted (as after kill -9 on another host)."""
    conn = sqlite3.connect(directory / "journal.sqlite")
    with conn:
        conn.execute("DELETE FROM events WHERE kind = 'run_ended'")
        conn.execute("UPDATE events SET data = json_set(data, '$.host', 'elsewhere') WHERE kind = 'run_started'")
    conn.close()


def test_run_into_existing_search_changes_nothing(finished_search: tuple[Path, Path],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    config, directory = finished_search
    before = journal_bytes(directory)
    code, _, err = cli(capsys, "run", config, "--dir", directory, "--quiet")
    assert_bad_input(code, err, str(directory), "already holds a search", f"rung resume {directory}")
    assert journal_bytes(directory) == before


def test_resume_with_vanished_trainable_changes_nothing(finished_search: tuple[Path, Path],
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    config, directory = finished_search
    _mark_interrupted(directory)
    (config.parent / "bb.py").unlink()
    before = journal_bytes(directory)
    code, _, err = cli(capsys, "resume", directory, "--quiet")
    assert_bad_input(code, err, str(config), "trainable.blackbox", "bb.py", "does not exist")
    assert journal_bytes(directory) == before
    code, out, err = cli(capsys, "status", directory, "--json")
    assert code == 0, err
    assert json.loads(out)["state"] == "interrupted"
    # put the trainable back: the same search resumes to its end
    (config.parent / "bb.py").write_text("from trainables.blackboxes import mf_branin\nf = mf_branin(noise=0.0)\n")
    code, out, err = cli(capsys, "resume", directory, "--quiet")
    assert code == 0, err
    code, out, err = cli(capsys, "status", directory, "--json")
    assert json.loads(out)["state"] == "finished"


def test_resume_a_running_search_changes_nothing(finished_search: tuple[Path, Path],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    _, directory = finished_search
    conn = sqlite3.connect(directory / "journal.sqlite")
    with conn:  # looks like this very (alive) process is still running it
        conn.execute("DELETE FROM events WHERE kind = 'run_ended'")
    conn.close()
    before = journal_bytes(directory)
    code, _, err = cli(capsys, "resume", directory, "--quiet")
    assert_bad_input(code, err, str(directory), "still running")
    assert journal_bytes(directory) == before


@pytest.mark.parametrize("command", ["resume", "status", "export"])
def test_folder_without_search(command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for directory in (tmp_path / "missing", empty):
        code, _, err = cli(capsys, command, directory)
        assert_bad_input(code, err, str(directory), "no search here")
    assert list(empty.iterdir()) == []
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize("command", ["resume", "status", "export"])
def test_corrupt_journal_is_left_alone(command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = tmp_path / "search"
    directory.mkdir()
    junk = b"this is not a database\n" * 100
    (directory / "journal.sqlite").write_bytes(junk)
    code, _, err = cli(capsys, command, directory)
    assert_bad_input(code, err, "journal.sqlite", "not a rung journal")
    assert (directory / "journal.sqlite").read_bytes() == junk
    assert sorted(p.name for p in directory.iterdir()) == ["journal.sqlite"]


@pytest.mark.parametrize("command", ["resume", "status", "export"])
def test_journal_from_another_rung_version(command: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    directory = tmp_path / "search"
    directory.mkdir()
    conn = sqlite3.connect(directory / "journal.sqlite")
    with conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("INSERT INTO meta VALUES ('schema_version', '99')")
    conn.close()
    before = journal_bytes(directory)
    code, _, err = cli(capsys, command, directory)
    assert_bad_input(code, err, "journal.sqlite", "journal schema 99")
    assert journal_bytes(directory) == before


def test_export_to_unwritable_place(finished_search: tuple[Path, Path], tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    _, directory = finished_search
    before = journal_bytes(directory)
    target = tmp_path / "no" / "such" / "dir" / "results.csv"
    code, _, err = cli(capsys, "export", directory, "--out", target)
    assert_bad_input(code, err, "--out", str(target), "does not exist")
    code, _, err = cli(capsys, "export", directory, "--out", tmp_path)
    assert_bad_input(code, err, "--out", str(tmp_path), "is a directory")
    assert journal_bytes(directory) == before


def test_metric_never_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_experiment(tmp_path, {"metric": "nonexistent", "stop": {"trials": 3}})
    code, _, err = cli(capsys, "run", config, "--dir", tmp_path / "out")  # progress lines on: still one line
    assert_bad_input(code, err, str(config), "metric", "'nonexistent'", "never reported", "value")


# --------------------------------------------------------------------------- through a real terminal
def rung_subprocess(*argv: Any, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", *map(str, argv)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def test_subprocess_bad_inputs(tmp_path: Path) -> None:
    """Several mistakes through real processes: exit 2, one line, no traceback on the terminal."""
    (tmp_path / "boom.py").write_text("raise RuntimeError('kaboom')\n")
    configs = {
        "syntax": write_experiment(tmp_path, name="syntax.yaml", text="metric: value\nspace: {x1: [1\n"),
        "module": write_experiment(tmp_path, {"trainable": {"blackbox": "nosuchpkg.mod:f"}}, name="module.yaml"),
        "boom": write_experiment(tmp_path, {"trainable": {"blackbox": "boom.py:f"}}, name="boom.yaml"),
        "space": write_experiment(tmp_path, {"space": {"x1": {"low": 20.0}}}, name="space.yaml"),
    }
    expect = {"syntax": "YAML syntax error", "module": "cannot import module 'nosuchpkg.mod'",
              "boom": "RuntimeError: kaboom", "space": "space.x1"}
    for kind, config in configs.items():
        proc = rung_subprocess("run", config.name, "--dir", "out", cwd=tmp_path)
        assert "Traceback" not in proc.stderr + proc.stdout, (kind, proc.stderr)
        assert proc.returncode == 2, (kind, proc.returncode, proc.stderr)
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"rung: {config.name}: "), (kind, proc.stderr)
        assert expect[kind] in lines[0], (kind, lines[0])
    assert not (tmp_path / "out").exists()


def test_subprocess_existing_search_and_argparse(finished_search: tuple[Path, Path]) -> None:
    config, directory = finished_search
    before = journal_bytes(directory)
    proc = rung_subprocess("run", config, "--dir", directory, cwd=config.parent)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == [
        f"rung: {directory}: already holds a search; continue it with: rung resume {directory}"]
    proc = rung_subprocess("export", directory, "--format", "xml", cwd=config.parent)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "invalid choice" in proc.stderr
    proc = rung_subprocess("status", config.parent / "missing", cwd=config.parent)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert journal_bytes(directory) == before
