"""What a search looks like from its journal: the `rung status` picture and its JSON.

Read-only and independent of the loop, so another terminal can look at a running search
(SQLite WAL readers never block the writer) and a finished one can be inspected without
importing its trainable.
"""
from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import numpy as np

from orchestrator.journal import Journal
from orchestrator.rungs import rung_levels


def search_state(journal: Journal) -> tuple[str, dict[str, Any]]:
    """('running'|'finished'|'interrupted'|'failed', details of the last run)."""
    last: dict[str, Any] | None = None
    ended: dict[str, Any] | None = None
    for ev in journal.events(kinds=("run_started", "run_ended")):
        if ev.kind == "run_started":
            last, ended = ev.data, None
        else:
            ended = ev.data
    if ended is not None:
        return ended.get("state", "finished"), ended
    if last is None:
        return "interrupted", {}
    if last.get("host") == socket.gethostname() and _alive(last.get("pid")):
        return "running", last
    return "interrupted", last


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def summarize(directory: str | Path) -> dict[str, Any]:
    """The status object of DESIGN.md: state, trial counts, best, resource used, time, overhead."""
    with Journal.open(Path(directory), readonly=True) as journal:
        meta = journal.meta()
        state, run = search_state(journal)
        spec = meta["spec"]
        sign = 1.0 if spec["mode"] == "min" else -1.0
        metric = spec["metric"]
        r = spec["resource"]
        rungs = set(rung_levels(r["min"], r["max"], r["reduction_factor"]))

        status: dict[int, str] = {}
        level: dict[int, float] = {}
        configs: dict[int, dict[str, Any]] = {}
        best: dict[float, tuple[float, int]] = {}
        suggest_ms: list[float] = []
        checkpoints: dict[int, str | None] = {}
        elapsed = 0.0
        for ev in journal.events():
            elapsed = max(elapsed, ev.time)
            kind, trial, d = ev.kind, ev.trial, ev.data
            if kind == "trial_created":
                status[trial] = "running"
                level[trial] = 0
                configs[trial] = d["config"]
                suggest_ms.append(d.get("suggest_ms", 0.0))
            elif kind == "result":
                res = d["resource"]
                if res > level[trial]:
                    level[trial] = res
                value = d["metrics"].get(metric)
                if res in rungs and isinstance(value, (int, float)):
                    key = (sign * value, trial)
                    if res not in best or key < best[res]:
                        best[res] = key
            elif kind in ("paused", "completed", "stopped", "failed"):
                status[trial] = kind
            elif kind in ("promoted", "segment_lost"):
                status[trial] = "running"
            elif kind == "checkpoint":
                checkpoints[trial] = d.get("path")
            elif kind == "cancelled":
                status[trial] = "paused" if level[trial] else "stopped"
        counts = {"total": len(status), "completed": 0, "running": 0, "paused": 0, "stopped": 0, "failed": 0}
        for s in status.values():
            counts[s] += 1
        best_obj = None
        if best:
            top = max(best)
            signed, trial = best[top]
            best_obj = {"trial": trial, "config": configs[trial], "resource": top, "value": sign * signed}
            if checkpoints.get(trial):
                best_obj["checkpoint"] = checkpoints[trial]
        regret = meta.get("regret")
        if best_obj is not None and regret:
            # normalized regret of the best found, against the benchmark's known optimum
            best_obj["normalized_regret"] = sign * (best_obj["value"] - regret["optimum"]) / regret["scale"]
        ms = np.asarray(suggest_ms, dtype=float)
        return {
            "name": spec["name"],
            "directory": str(Path(directory)),
            "state": state,
            "trials": counts,
            "best": best_obj,
            "metric": metric,
            "mode": spec["mode"],
            "resource_used": sum(level.values()),
            "elapsed_seconds": elapsed,
            "clock": "simulated" if spec["executor"]["type"] == "simulated" else "wall",
            "overhead": {
                "suggest_ms_p50": float(np.percentile(ms, 50)) if ms.size else None,
                "suggest_ms_p95": float(np.percentile(ms, 95)) if ms.size else None,
            },
            "stop": spec["stop"],
            "error": run.get("error") if state == "failed" else None,
        }
