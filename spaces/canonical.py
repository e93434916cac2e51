"""Canonical text for configurations and spaces: dedup keys and fingerprints.

Searchers and the journal deduplicate configurations by :func:`config_key`, so it must not depend
on dict order or on how a float was printed, while still telling ``1`` from ``true``. Floats are
rounded to 12 significant digits: two values closer than that are the same configuration for any
training run, and a float that went through JSON or YAML and back keeps its key.
"""

from __future__ import annotations

import hashlib
import json
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from .params import Param

__all__ = ["round_sig", "config_key", "spec_digest"]


def round_sig(x: float, digits: int = 12) -> float:
    """``x`` rounded to ``digits`` significant digits (and -0.0 made 0.0)."""
    return float(f"{x:.{digits - 1}e}") + 0.0


def _plain(value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return round_sig(float(value))
    if isinstance(value, str) or value is None:
        return value
    return repr(value)


def _canonical(param: Param | None, value: Any) -> Any:
    if param is not None and param.problem(value) is None:
        value = param.canonical(value)
    return _plain(value)


def config_key(params: Mapping[str, Param], config: Mapping[str, Any]) -> str:
    """Compact JSON of the configuration with sorted names and canonical values.

    Values of known parameters are first put in their parameter's form (a float parameter's ``3``
    becomes ``3.0``; a choice maps to the spelling in its ``values``); anything else keeps its type.
    """
    items = sorted((str(name), _canonical(params.get(name), value)) for name, value in config.items())
    return json.dumps(dict(items), separators=(",", ":"), ensure_ascii=False)


def spec_digest(spec: Mapping[str, Mapping[str, Any]], length: int = 16) -> str:
    """Short sha256 of a resolved flat spec; parameter order counts (it fixes the encoding)."""
    text = json.dumps([[name, body] for name, body in spec.items()], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]
