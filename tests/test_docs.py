"""The user docs stay runnable and complete.

Every `rung ...` command in a ```bash block of docs/*.md and README.md is run (see "shell
commands" below for the conventions).

Every fenced ```yaml block in docs/*.md is checked:

* a complete experiment (it has a top-level ``trainable:``) goes through ``rung validate``
  (``orchestrator.cli.main``) after being written to a temporary folder, and must exit with 0;
* a block preceded by ``<!-- space -->`` is a bare space and must load with ``Space.from_dict``;
* a block preceded by ``<!-- partial -->`` holds some top-level keys of an experiment; they are
  put over a small valid experiment, which must then validate.

A block preceded by ``<!-- file: NAME -->`` (e.g. a Python objective) is written as NAME next to
the experiments of the same page, so ``blackbox: "NAME:attr"`` examples validate for real.
LCBench experiments are skipped, with the reason, when the YAHPO data is absent.

docs/yaml-reference.md must also name every top-level key of the experiment YAML and every
parameter type of the space language, so the reference cannot silently fall behind the code.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from orchestrator.cli import main
from orchestrator.experiment import TOP_KEYS
from spaces import Space, library_fragments
from spaces.params import KINDS

DOCS = Path(__file__).resolve().parents[1] / "docs"
REFERENCE = DOCS / "yaml-reference.md"

_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
_MARKER = re.compile(r"<!--\s*(space|partial|file:\s*[\w.\-/]+)\s*-->\s*$")

# A small valid experiment that `<!-- partial -->` blocks are laid over (top-level keys replaced).
BASE = {
    "metric": "value",
    "resource": {"min": 1, "max": 81, "reduction_factor": 3},
    "stop": {"trials": 10},
    "trainable": {"blackbox": "trainables.blackboxes:mf_branin"},
    "space": {"x1": {"type": "float", "low": -5.0, "high": 10.0},
              "x2": {"type": "float", "low": 0.0, "high": 15.0}},
}


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    lang: str
    text: str
    marker: str | None  # "space", "partial", "file: NAME" or None

    @property
    def id(self) -> str:
        return f"{self.page.name}:{self.line}"


def _blocks(page: Path) -> list[Block]:
    source = page.read_text(encoding="utf-8")
    out = []
    for m in _FENCE.finditer(source):
        before = source[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = _MARKER.search(before)
        out.append(Block(page, source.count("\n", 0, m.start()) + 1, m.group(1), m.group(2),
                         marker.group(1) if marker else None))
    return out


PAGES = sorted(DOCS.glob("*.md"))
ALL_BLOCKS = [b for page in PAGES for b in _blocks(page)]
YAML_BLOCKS = [b for b in ALL_BLOCKS if b.lang == "yaml"]
EXPERIMENTS = [b for b in YAML_BLOCKS if b.marker not in ("space", "partial")
               and isinstance(yaml.safe_load(b.text), dict) and "trainable" in yaml.safe_load(b.text)]
SPACES = [b for b in YAML_BLOCKS if b.marker == "space"]
PARTIALS = [b for b in YAML_BLOCKS if b.marker == "partial"]


def _write_companions(page: Path, folder: Path) -> None:
    for b in ALL_BLOCKS:
        if b.page == page and b.marker and b.marker.startswith("file:"):
            target = folder / b.marker.split(":", 1)[1].strip()
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(b.text, encoding="utf-8")


def _skip_without_lcbench(data: dict) -> None:
    trainable = data.get("trainable") or {}
    ref = str(trainable.get("blackbox", ""))
    if "lcbench" not in ref.lower():
        return
    from trainables.blackboxes.lcbench import resolve_data_dir

    try:
        resolve_data_dir((trainable.get("args") or {}).get("data_dir"))
    except Exception as err:  # BenchmarkDataError: the YAHPO data is not on this machine
        pytest.skip(f"LCBench data not available: {err}")


def _validate(data: dict, path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    code = main(["validate", str(path)])
    err = capsys.readouterr().err
    assert code == 0, f"rung validate failed ({code}): {err}"


def test_docs_have_examples() -> None:
    assert REFERENCE.is_file()
    assert EXPERIMENTS and SPACES and PARTIALS


@pytest.mark.parametrize("block", EXPERIMENTS, ids=lambda b: b.id)
def test_experiment_blocks_validate(block: Block, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = yaml.safe_load(block.text)
    _skip_without_lcbench(data)
    _write_companions(block.page, tmp_path)
    _validate(data, tmp_path / "experiment.yaml", capsys)


@pytest.mark.parametrize("block", PARTIALS, ids=lambda b: b.id)
def test_partial_blocks_validate(block: Block, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    part = yaml.safe_load(block.text)
    assert isinstance(part, dict) and part, f"{block.id}: a partial block must be a mapping of top-level keys"
    assert set(part) <= TOP_KEYS, f"{block.id}: unknown top-level keys {sorted(set(part) - TOP_KEYS)}"
    data = {**BASE, **part}
    _skip_without_lcbench(data)
    _write_companions(block.page, tmp_path)
    _validate(data, tmp_path / "experiment.yaml", capsys)


@pytest.mark.parametrize("block", SPACES, ids=lambda b: b.id)
def test_space_blocks_load(block: Block, tmp_path: Path) -> None:
    _write_companions(block.page, tmp_path)
    space = Space.from_dict(yaml.safe_load(block.text), source=block.id, base_dir=tmp_path)
    assert space.is_valid(space.sample(0)) and space.is_valid(space.default_config())


def _reference_text() -> str:
    return REFERENCE.read_text(encoding="utf-8")


@pytest.mark.parametrize("key", sorted(TOP_KEYS))
def test_reference_has_a_section_per_top_level_key(key: str) -> None:
    assert f"### `{key}`" in _reference_text(), f"docs/yaml-reference.md has no '### `{key}`' section"


@pytest.mark.parametrize("kind", KINDS)
def test_reference_has_a_section_per_parameter_type(kind: str) -> None:
    assert f"#### `{kind}`" in _reference_text(), f"docs/yaml-reference.md has no '#### `{kind}`' section"


@pytest.mark.parametrize("fragment", library_fragments())
def test_reference_lists_every_shipped_fragment(fragment: str) -> None:
    assert f"| `{fragment}` |" in _reference_text(), f"docs/yaml-reference.md does not list fragment {fragment!r}"


def test_reference_names_every_scheduler_searcher_and_executor_type() -> None:
    from orchestrator.experiment import EXECUTOR_TYPES
    from orchestrator.scheduler import SCHEDULER_TYPES
    from orchestrator.searchers import SEARCHER_TYPES

    text = _reference_text()
    for name in (*SCHEDULER_TYPES, *SEARCHER_TYPES, *EXECUTOR_TYPES):
        assert f"`{name}`" in text, f"docs/yaml-reference.md never mentions `{name}`"


def test_reference_documents_every_searcher_and_ray_option() -> None:
    """An option added to a searcher or to the ray executor must get a row in the reference."""
    from orchestrator.experiment import RAY_OPTIONS
    from orchestrator.searchers import SEARCHERS

    text = _reference_text()
    for kind, entry in SEARCHERS.items():
        for option in entry.options:
            assert f"| `{option}` |" in text, f"docs/yaml-reference.md has no row for {kind} option `{option}`"
    for option in RAY_OPTIONS:
        assert f"| `{option}` |" in text, f"docs/yaml-reference.md has no row for ray option `{option}`"


# --------------------------------------------------------------------------- shell commands
# Every `rung ...` command in a ```bash block of docs/*.md and README.md is exercised, page by
# page, in order, in a scratch working directory where `examples/` is the repository's:
#
# * run folders are written `runs/NAME` in the docs (`~/runs/NAME` and `/any/path/runs/NAME`
#   too); they all land in the scratch directory's `runs/NAME`;
# * a command runs for real when it is cheap: every command but `rung run`, and `rung run` of a
#   simulated example of at most 5,000 trials (LCBench ones only where the YAHPO data is here);
# * a `rung run` that needs Ray, a cluster, a file the page does not ship, or a long time is
#   parsed only (every option must exist: `build_parser().parse_args`) and a small simulated
#   search stands in for it at its `--dir`, so the page's later `status`/`export`/`report`/
#   `resume` commands on that folder still run for real;
# * every command must exit 0 (commands that show an error belong in ```console blocks).
SHELL_PAGES = [*PAGES, DOCS.parent / "README.md"]
_SPLIT = re.compile(r"\s*(?:&&|\|\||;|\|)\s*")
_RUNS = re.compile(r"^(?:~/|/)?(?:[\w.\-]+/)*runs/([\w.\-]+)/?$")
MAX_REAL_TRIALS = 5000


def _shell_commands(page: Path) -> list[tuple[int, list[str]]]:
    import shlex

    out = []
    for b in _blocks(page):
        if b.lang not in ("bash", "sh", "shell"):
            continue
        text = b.text.replace("\\\n", " ")  # shell line continuations
        for offset, line in enumerate(text.splitlines(), start=1):
            line = line.split(" #", 1)[0].strip()
            if line.startswith("#"):
                continue
            for part in _SPLIT.split(line):
                first = part.split(maxsplit=1)[0] if part.strip() else ""
                if Path(first).name != "rung":
                    continue
                try:
                    words = shlex.split(part.split(">", 1)[0])
                except ValueError:  # unbalanced quotes: fails in test_shell_commands_run, not at collection
                    words = ["<unparsable>", part]
                out.append((b.line + offset, words[1:]))
    return out


SHELL = [(page, cmds) for page in SHELL_PAGES if (cmds := _shell_commands(page))]


def test_docs_show_rung_commands() -> None:
    names = {p.name for p, _ in SHELL}
    assert {"quickstart.md", "cli.md", "README.md"} <= names, names
    shown = {argv[0] for _, cmds in SHELL for _, argv in cmds if argv}
    assert {"run", "resume", "status", "export", "report", "validate"} <= shown, shown


def _localize(argv: list[str]) -> list[str]:
    out = []
    for word in argv:
        m = _RUNS.match(word)
        out.append(f"runs/{m.group(1)}" if m else word)
    return out


def _cheap_run(args, cwd: Path) -> bool:
    config = cwd / args.config
    if not config.is_file() or args.address:
        return False
    data = yaml.safe_load(config.read_text())
    if not isinstance(data, dict) or "blackbox" not in (data.get("trainable") or {}):
        return False
    if (data.get("stop") or {}).get("trials", MAX_REAL_TRIALS + 1) > MAX_REAL_TRIALS:
        return False
    if "lcbench" in str(data["trainable"]["blackbox"]).lower():
        from trainables.blackboxes.lcbench import resolve_data_dir

        try:
            resolve_data_dir((data["trainable"].get("args") or {}).get("data_dir"))
        except Exception:  # the YAHPO data is not on this machine: parse only
            return False
    return True


def _stand_in(directory: Path) -> None:
    spec = {**BASE, "name": "stand-in", "stop": {"trials": 30}, "workers": 4}
    path = directory.parent / f".{directory.name}-stand-in.yaml"
    directory.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    assert main(["run", str(path), "--dir", str(directory), "--quiet"]) == 0


@pytest.mark.parametrize("page,commands", SHELL, ids=[p.name for p, _ in SHELL])
def test_shell_commands_run(page: Path, commands: list[tuple[int, list[str]]], tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from orchestrator.cli import build_parser

    (tmp_path / "examples").symlink_to(DOCS.parent / "examples")
    monkeypatch.chdir(tmp_path)
    for line, argv in commands:
        argv = _localize(argv)
        where = f"{page.name}:{line}: rung {' '.join(argv)}"
        if not argv or argv[0] in ("-h", "--help") or "-h" in argv or "--help" in argv:
            with pytest.raises(SystemExit) as exc:
                main(argv or ["--help"])
            assert exc.value.code == 0, where
            continue
        try:
            args = build_parser().parse_args(argv)
        except SystemExit:
            pytest.fail(f"{where}: does not parse: {capsys.readouterr().err.strip()}")
        if args.command == "run" and not _cheap_run(args, tmp_path):
            if args.dir is not None and not (tmp_path / args.dir / "journal.sqlite").exists():
                _stand_in(tmp_path / args.dir)
            continue
        code = main(argv)
        assert code == 0, f"{where}: exit {code}: {capsys.readouterr().err.strip()}"
