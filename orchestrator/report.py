"""`rung report DIR`: a folder of PNG plots and a Markdown summary of a search.

People run sweeps for hours and afterwards want to see what was found and why: the summary
repeats the `rung status` facts (state, trials by state, best and its checkpoint, stop
condition, searcher latency), lays the top-10 configurations side by side, and links the plots
(`plots.py`; for GP searches also `report_gp.py`). Read-only on the journal, so it works on a
running search too. matplotlib is imported here, lazily, with the headless Agg backend, so the
rest of the CLI starts fast and no display is needed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from orchestrator.errors import BadInput
from orchestrator.report_data import SearchData, load

REPORT_FILE = "report.md"
TOP_TABLE = 10


@dataclass
class Report:
    """What `write_report` produced: the summary file, the PNGs, and plots skipped with why."""

    markdown: Path
    images: list[Path] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def write_report(directory: str | Path, out: str | Path | None = None) -> Report:
    """Write report.md and the PNGs for the search in `directory` into `out` (default DIR/report)."""
    try:
        import matplotlib
    except ImportError:
        raise BadInput("rung report needs matplotlib: pip install matplotlib") from None
    matplotlib.use("Agg", force=True)
    from orchestrator import plots

    data = load(directory)
    folder = Path(out) if out is not None else Path(directory) / "report"
    folder.mkdir(parents=True, exist_ok=True)
    captions: dict[str, str] = {}
    report = Report(folder / REPORT_FILE)
    for name, draw in (("best_so_far", plots.best_so_far), ("learning_curves", plots.learning_curves),
                       ("rung_occupancy", plots.rung_occupancy), ("top_configs", plots.top_configs),
                       ("importance", plots.importance)):
        path = folder / f"{name}.png"
        captions[name] = draw(data, path)
        report.images.append(path)
    if data.spec["searcher"]["type"] == "gp":
        from orchestrator.report_gp import gp_fit

        path = folder / "gp_fit.png"
        drawn, text = gp_fit(data, path)
        if drawn:
            captions["gp_fit"] = text
            report.images.append(path)
        else:
            path.unlink(missing_ok=True)  # never leave a stale figure of an earlier report
            report.skipped["gp_fit"] = text
    report.markdown.write_text(markdown(data, captions, report.skipped), encoding="utf-8")
    return report


# --------------------------------------------------------------------------- markdown
def markdown(data: SearchData, captions: dict[str, str], skipped: dict[str, str]) -> str:
    """The report.md text: summary, best, top configurations, stop condition, latency, plots."""
    s = data.summary
    t = s["trials"]
    lines = [f"# rung report: {s['name']}", "",
             f"Search folder `{data.directory}`; state **{s['state']}**; "
             f"{data.spec['scheduler']['type']} scheduler ({data.spec['scheduler']['brackets']} bracket(s)), "
             f"{data.spec['searcher']['type']} searcher, {data.spec['executor']['type']} executor with "
             f"{data.spec['workers']} workers; rungs at {data.resource_name} "
             f"{', '.join(f'{v:g}' for v in data.levels)}.", ""]
    if s.get("error"):
        lines += [f"The run ended with an error: `{s['error']}`", ""]
    lines += ["## Trials", "", "| total | completed | running | paused | stopped | failed |",
              "|---:|---:|---:|---:|---:|---:|",
              f"| {t['total']} | {t['completed']} | {t['running']} | {t['paused']} | {t['stopped']} | {t['failed']} |", "",
              f"Resource used: {s['resource_used']:g} {data.resource_name} units; elapsed "
              f"{s['elapsed_seconds']:.1f} s ({s['clock']} clock).", ""]
    lines += _best_section(data)
    lines += _top_table(data)
    stop = ", ".join(f"{k}: {v:g}" for k, v in s["stop"].items())
    lines += ["## Stop condition", "", f"`stop: {{{stop}}}`. {_stop_reached(data)}", ""]
    o = s["overhead"]
    lines += ["## Searcher latency", ""]
    if o["suggest_ms_p50"] is None:
        lines += ["No configuration was suggested yet.", ""]
    else:
        lines += [f"Time to suggest one new configuration ({data.spec['searcher']['type']} searcher): "
                  f"p50 {o['suggest_ms_p50']:.3f} ms, p95 {o['suggest_ms_p95']:.3f} ms over {t['total']} trials.", ""]
    lines += ["## Plots", ""]
    for name, caption in captions.items():
        lines += [f"### {name.replace('_', ' ')}", "", f"![{name}]({name}.png)", "", caption + ".", ""]
    for name, why in skipped.items():
        lines += [f"### {name.replace('_', ' ')}", "", f"Not drawn: {why}.", ""]
    return "\n".join(lines)


def _best_section(data: SearchData) -> list[str]:
    best = data.summary["best"]
    if best is None:
        return ["## Best", "", "No result was reported yet.", ""]
    out = ["## Best", "",
           f"Best {data.metric} ({data.spec['mode']}) = **{best['value']:.6g}**: trial {best['trial']} at "
           f"{data.resource_name} {best['resource']:g} (the highest rung with a result)."]
    if "normalized_regret" in best:
        out.append(f"Normalized regret against the benchmark's known optimum: {best['normalized_regret']:.4g}.")
    if best.get("checkpoint"):
        out.append(f"Its checkpoint: `{best['checkpoint']}`.")
    out += ["", "```yaml", yaml.safe_dump({"config": best["config"]}, sort_keys=False).rstrip(), "```", "",
            f"`rung export {data.directory} --best` writes it as YAML, ready to retrain.", ""]
    return out


def _top_table(data: SearchData) -> list[str]:
    rows, reached, values = data.ranking()
    k = min(TOP_TABLE, rows.size)
    if k == 0:
        return []
    out = [f"## Top {k} configurations", "",
           f"Ranked as `rung status` ranks the best: highest rung reached, then {data.metric}. "
           "One column per trial; `-` marks a parameter inactive in that configuration.", ""]
    header = ["", *(f"#{i + 1}" for i in range(k))]
    out += ["| " + " | ".join(header) + " |", "|---|" + "---:|" * k]
    out.append("| trial | " + " | ".join(str(int(data.trial_ids[r])) for r in rows[:k]) + " |")
    out.append(f"| {data.resource_name} reached | " + " | ".join(f"{v:g}" for v in reached[:k]) + " |")
    out.append(f"| **{data.metric}** | " + " | ".join(f"**{_cell(v)}**" for v in values[:k]) + " |")
    for name in data.param_specs:
        cells = [_cell(data.configs[r].get(name)) for r in rows[:k]]
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    return out + [""]


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return str(value).replace("|", "\\|")


def _stop_reached(data: SearchData) -> str:
    """Which stop condition ended the search (or how far along a running one is)."""
    s = data.summary
    stop = s["stop"]
    parts = []
    if "trials" in stop:
        parts.append(f"{s['trials']['total']} of {stop['trials']} trials started")
    if "total_resource" in stop:
        parts.append(f"{s['resource_used']:g} of {stop['total_resource']:g} resource units used")
    if "wall_seconds" in stop:
        parts.append(f"{s['elapsed_seconds']:.1f} of {stop['wall_seconds']:g} s on the {s['clock']} clock")
    reached = []
    if "wall_seconds" in stop and s["elapsed_seconds"] >= stop["wall_seconds"] * (1 - 1e-9):
        reached.append("wall_seconds")
    if "total_resource" in stop and s["resource_used"] >= stop["total_resource"]:
        reached.append("total_resource")
    if "trials" in stop and s["trials"]["total"] >= stop["trials"]:
        reached.append("trials")
    text = "; ".join(parts) + "."
    if s["state"] == "finished":
        text += f" Reached: {', '.join(reached)}." if reached else " The search ran out of work first."
    else:
        text += f" The search is {s['state']}."
    return text

