"""Shared test helpers: a small experiment on the synthetic blackboxes, data availability."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

BRANIN: dict[str, Any] = {
    "name": "branin-test",
    "metric": "value",
    "mode": "min",
    "resource": {"name": "epoch", "min": 1, "max": 27, "reduction_factor": 3},
    "scheduler": {"type": "promotion", "brackets": 1},
    "searcher": {"type": "random"},
    "stop": {"trials": 60},
    "workers": 4,
    "seed": 0,
    "trainable": {"blackbox": "trainables.blackboxes:mf_branin", "args": {"noise": 0.5, "seed": 0, "resource_max": 27}},
    "executor": {"type": "simulated"},
    "space": {"x1": {"type": "float", "low": -5.0, "high": 10.0}, "x2": {"type": "float", "low": 0.0, "high": 15.0}},
}


def deep_update(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Copy of `base` with `changes` merged in; a value of None deletes the key."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_update(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


@pytest.fixture
def write_experiment(tmp_path):
    """write_experiment(changes=None, name="exp.yaml", base=BRANIN) -> Path of a YAML file."""

    def write(changes: dict[str, Any] | None = None, name: str = "exp.yaml", base: dict[str, Any] = BRANIN) -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(deep_update(base, changes or {}), sort_keys=False))
        return path

    return write


def lcbench_available() -> bool:
    try:
        from trainables.blackboxes.lcbench import resolve_data_dir

        resolve_data_dir()
        return True
    except Exception:
        return False
