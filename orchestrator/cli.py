"""The `rung` command line: run, resume, status, export, report, validate.

Exit codes: 0 success, 2 bad input (one line on stderr naming file, key and problem; no
traceback), 1 anything else, 130 after Ctrl-C (the journal is intact; the message says how
to resume).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

import yaml

from orchestrator.errors import BadInput
from orchestrator.experiment import load_experiment
from orchestrator.export import FORMATS, export
from orchestrator.journal import JournalError
from orchestrator.progress import make_progress
from orchestrator.runner import Interrupted, SearchFailed, load_stored_experiment, resume, start
from orchestrator.summary import search_state, summarize


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rung", description="Asynchronous multi-fidelity HPO/NAS: "
                                     "joint architecture + recipe search with async Hyperband.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="start a search from an experiment YAML file")
    p.add_argument("config", type=Path, help="experiment YAML file")
    p.add_argument("--dir", type=Path, default=None, help="folder for the journal and results "
                   "(default: a new folder under ./rung-runs/)")
    p.add_argument("--address", default=None, help="Ray cluster address (for the ray executor)")
    p.add_argument("--workers", type=int, default=None, help="override `workers` of the YAML")
    p.add_argument("--seed", type=int, default=None, help="override `seed` of the YAML")
    _progress_flags(p)

    p = sub.add_parser("resume", help="continue an interrupted search to its stop condition")
    p.add_argument("dir", type=Path)
    p.add_argument("--address", default=None, help="Ray cluster address to resume on (default: the one it ran on)")
    _progress_flags(p)

    p = sub.add_parser("status", help="show the state of a search (running or finished)")
    p.add_argument("dir", type=Path)
    p.add_argument("--json", action="store_true", help="one JSON object instead of a table")

    p = sub.add_parser("export", help="write one row per reported result")
    p.add_argument("dir", type=Path)
    p.add_argument("--format", choices=FORMATS, default="csv")
    p.add_argument("--out", type=Path, default=None, help="output file (default: stdout; "
                   "parquet: DIR/results.parquet)")
    p.add_argument("--best", action="store_true", help="only the best configuration, as YAML ready to retrain")

    p = sub.add_parser("report", help="write plots (PNG) and a Markdown summary of a search")
    p.add_argument("dir", type=Path)
    p.add_argument("--out", type=Path, default=None, help="folder for report.md and the PNGs (default: DIR/report)")

    p = sub.add_parser("validate", help="check an experiment YAML file and its space without running")
    p.add_argument("config", type=Path)
    return parser


def _progress_flags(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--quiet", action="store_true", help="no progress display")
    group.add_argument("--verbose", action="store_true", help="plain progress lines with rung occupancy, "
                       "even on a terminal")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except BrokenPipeError:  # `rung export DIR | head`: the reader left; not an error of ours
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except (BadInput, JournalError) as err:
        print(f"rung: {err}", file=sys.stderr)
        return 2
    except SearchFailed as err:
        print(f"rung: {err}", file=sys.stderr)
        return 1
    except Interrupted as err:
        print(f"\nrung: {err}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("\nrung: interrupted", file=sys.stderr)
        return 130


def _progress(exp: Any, args: argparse.Namespace) -> Any:
    return make_progress(exp, quiet=args.quiet, verbose=args.verbose)


def cmd_run(args: argparse.Namespace) -> int:
    _check_dir_free(args.dir)
    overrides = {"workers": args.workers, "seed": args.seed}
    if args.workers is not None and args.workers < 1:
        raise BadInput(f"--workers: must be at least 1, got {args.workers}")
    if args.seed is not None and args.seed < 0:
        raise BadInput(f"--seed: must be at least 0, got {args.seed}")
    exp = load_experiment(args.config, overrides, executor_address=args.address)
    try:
        directory = start(exp, args.dir, _progress(exp, args))
    except OSError as err:  # creating --dir failed (e.g. a filesystem that refuses new folders)
        if args.dir is None or err.filename is None or not _is_within(args.dir, Path(err.filename)):
            raise
        raise BadInput(f"--dir: {args.dir}: cannot create it ({err.strerror or err})") from None
    _print_outcome(directory)
    return 0


def _check_dir_free(directory: Path | None) -> None:
    if directory is None:
        return
    if (directory / "journal.sqlite").exists():
        raise BadInput(f"{directory}: already holds a search; continue it with: rung resume {directory}")
    if directory.exists() and not directory.is_dir():
        raise BadInput(f"--dir: {directory}: is a file, expected a folder for the search")
    parent = directory.absolute()
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise BadInput(f"--dir: {directory}: cannot create it, {parent} is a file")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise BadInput(f"--dir: {directory}: cannot create it, {parent} is not writable")


def _is_within(directory: Path, path: Path) -> bool:
    """Whether `path` is `directory` or one of its ancestors (what creating `directory` touches)."""
    target = directory.absolute()
    path = path.absolute()
    return path == target or path in target.parents


def cmd_resume(args: argparse.Namespace) -> int:
    from orchestrator.journal import Journal

    try:
        with Journal.open(args.dir, readonly=True) as journal:
            exp = load_stored_experiment(journal)
            state, _ = search_state(journal)
    except JournalError as err:
        raise BadInput(str(err)) from None
    if state in ("interrupted", "failed"):
        exp.load_trainable()  # a trainable that is gone fails here, before the journal is opened for writing
    directory, before = resume(args.dir, _progress(exp, args), address=args.address)
    if before == "finished":
        print(f"{directory}: the search already finished; nothing to resume.", file=sys.stderr)
    _print_outcome(directory)
    return 0


def _print_outcome(directory: Path) -> None:
    s = summarize(directory)
    t = s["trials"]
    print(f"Search {s['name']!r} {s['state']}: {t['total']} trials ({t['completed']} completed, "
          f"{t['paused']} paused, {t['stopped']} stopped, {t['failed']} failed), "
          f"{s['resource_used']:g} resource units used, {s['elapsed_seconds']:.1f} s ({s['clock']} clock).")
    best = s["best"]
    if best is None:
        print("No result was reported.")
    else:
        print(f"Best {s['metric']} = {best['value']:.6g}: trial {best['trial']} at resource {best['resource']:g}")
        print(yaml.safe_dump({"config": best["config"]}, sort_keys=False).rstrip())
        if best.get("checkpoint"):
            print(f"Its checkpoint: {best['checkpoint']}")
    print(f"Results in {directory}  (rung status {directory} | rung export {directory})")


def cmd_status(args: argparse.Namespace) -> int:
    s = summarize(args.dir)
    if args.json:
        print(json.dumps(s, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"rung search {s['name']!r}: {s['state']}", show_header=False)
    t = s["trials"]
    table.add_row("trials", f"{t['total']} total: {t['completed']} completed, {t['running']} running, "
                  f"{t['paused']} paused, {t['stopped']} stopped, {t['failed']} failed")
    best = s["best"]
    table.add_row(f"best {s['metric']} ({s['mode']})",
                  "-" if best is None else f"{best['value']:.6g} (trial {best['trial']} at resource {best['resource']:g})")
    if best is not None:
        table.add_row("best config", ", ".join(f"{k}={v}" for k, v in best["config"].items()))
    table.add_row("resource used", f"{s['resource_used']:g}")
    table.add_row("elapsed", f"{s['elapsed_seconds']:.1f} s ({s['clock']} clock)")
    o = s["overhead"]
    if o["suggest_ms_p50"] is not None:
        table.add_row("suggest latency", f"p50 {o['suggest_ms_p50']:.3f} ms, p95 {o['suggest_ms_p95']:.3f} ms")
    if s.get("error"):
        table.add_row("error", s["error"])
    Console().print(table)
    return 0


def _check_out(out: Path) -> None:
    if not out.parent.is_dir():
        raise BadInput(f"--out: {out}: folder {out.parent} does not exist")
    if out.is_dir():
        raise BadInput(f"--out: {out}: is a directory, expected a file name")


def cmd_export(args: argparse.Namespace) -> int:
    if args.best:
        s = summarize(args.dir)
        if s["best"] is None:
            raise BadInput(f"{args.dir}: no result was reported yet, so there is no best configuration")
        best = s["best"]
        doc = {"experiment": s["name"], "trial": best["trial"], "resource": best["resource"],
               s["metric"]: best["value"], "config": best["config"]}
        text = yaml.safe_dump(doc, sort_keys=False)
        if args.out is None:
            print(text, end="")
        else:
            _check_out(args.out)
            try:
                args.out.write_text(text)
            except OSError as err:
                raise BadInput(f"--out: {args.out}: cannot write ({err.strerror or err})") from None
            print(f"wrote {args.out}", file=sys.stderr)
        return 0
    out = args.out
    if out is not None:
        _check_out(out)
    try:
        target = export(args.dir, args.format, out)
    except OSError as err:
        if out is None or err.filename not in (str(out), out):
            raise
        raise BadInput(f"--out: {out}: cannot write ({err.strerror or err})") from None
    if target is not None:
        print(f"wrote {target}", file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from orchestrator.report import write_report

    out = args.out if args.out is not None else args.dir / "report"
    if out.exists() and not out.is_dir():
        raise BadInput(f"--out: {out}: is a file, expected a folder for the report")
    try:
        report = write_report(args.dir, out)
    except OSError as err:  # creating the folder or writing into it failed (read-only, a file in the way)
        if err.filename is None or not (_is_within(out, Path(err.filename)) or Path(err.filename).parent == out):
            raise
        raise BadInput(f"--out: {out}: cannot write the report there ({err.strerror or err})") from None
    skipped = "".join(f"; {name} not drawn: {why}" for name, why in report.skipped.items())
    print(f"wrote {report.markdown} and {len(report.images)} plots in {report.markdown.parent}{skipped}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    exp = load_experiment(args.config)
    exp.load_trainable()
    ladder = exp.ladder
    print(f"{args.config}: ok: experiment {exp.name!r}, {len(exp.space.names)} parameters "
          f"(encoding dim {exp.space.dim}), {exp.metric} ({exp.mode}), rungs {list(ladder.levels)}, "
          f"{exp.brackets} bracket(s), {exp.scheduler} scheduler, {exp.searcher} searcher, "
          f"{exp.executor} executor with {exp.workers} workers")
    return 0


COMMANDS = {"run": cmd_run, "resume": cmd_resume, "status": cmd_status, "export": cmd_export,
            "report": cmd_report, "validate": cmd_validate}

if __name__ == "__main__":
    sys.exit(main())
