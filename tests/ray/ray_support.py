"""Helpers of the Ray tests: the toy experiment on `toy_trainable.py`."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

HERE = Path(__file__).resolve().parent

TOY: dict[str, Any] = {
    "name": "toy-ray",
    "metric": "loss",
    "mode": "min",
    "resource": {"name": "epoch", "min": 1, "max": 9, "reduction_factor": 3},
    "scheduler": {"type": "promotion"},
    "searcher": {"type": "random"},
    "stop": {"trials": 12},
    "workers": 2,
    "seed": 0,
    "trainable": {"function": f"{HERE / 'toy_trainable.py'}:train"},
    "executor": {"type": "ray", "resources_per_trial": {"cpu": 1}},
    "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}, "lr": {"type": "float", "low": 1e-3, "high": 0.1, "log": True}},
}


def toy_experiment(tmp_path: Path, **changes: Any) -> Path:
    spec = copy.deepcopy(TOY)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(spec.get(key), dict):
            spec[key] = {**spec[key], **value}
        else:
            spec[key] = value
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


