"""Local moves in a space: the neighbourhood that acquisition local search explores.

A mutation changes one or two active parameters: numbers move by a small Gaussian step in the
encoded [0, 1] space (reflected at the borders, so log ranges move by ratios), ordinals step to
nearby positions, bools flip, choices jump to another value. Conditional children are then
repaired in dependency order: sampled from the prior when they become active, dropped when they
become inactive. Every mutation therefore is a valid configuration that differs from the original
(unless nothing in the space can change).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Callable

import numpy as np

from .encoding import from_unit, to_unit
from .params import Param, tag

__all__ = ["mutate", "neighbours", "repair"]

_TRIES = 8


def _reflect(u: float) -> float:
    u = abs(u) % 2.0
    return 2.0 - u if u > 1.0 else u


def _perturb(p: Param, value: Any, rng: np.random.Generator, scale: float) -> Any:
    """A different value of ``p`` near ``value``."""
    if p.kind == "bool":
        return not value
    if p.kind == "choice":
        i = p.index(value)
        j = int(rng.integers(len(p.values) - 1))
        return p.values[j + 1 if j >= i else j]
    u = to_unit(p, value)
    for _ in range(_TRIES):
        new = from_unit(p, _reflect(u + rng.normal(0.0, scale)))
        if tag(new) != tag(value):
            return new
    if p.kind == "float":
        while True:  # the step was too small to register; any other value will do
            new = p.sample(rng)
            if new != value:
                return new
    # int or ordinal: one step towards a random side that exists
    options = p.values if p.kind == "ordinal" else None
    pos = p.index(value) if options else int(value)
    lo, hi = (0, len(options) - 1) if options else (p.low, p.high)
    step = 1 if rng.random() < 0.5 else -1
    if not lo <= pos + step <= hi:
        step = -step
    return options[pos + step] if options else pos + step


def repair(
    params: Mapping[str, Param],
    order: Sequence[str],
    names: Sequence[str],
    config: Mapping[str, Any],
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Make activity consistent: sample newly active parameters, drop inactive ones."""
    out: dict[str, Any] = {}
    for name in order:
        p = params[name]
        if p.condition is not None and not p.condition.holds(out):
            continue
        out[name] = config[name] if name in config else p.sample(rng)
    return {n: out[n] for n in names if n in out}


def mutate(
    params: Mapping[str, Param],
    order: Sequence[str],
    names: Sequence[str],
    config: Mapping[str, Any],
    rng: np.random.Generator,
    scale: float = 0.1,
) -> dict[str, Any]:
    """One mutation of ``config`` (one parameter changed, sometimes two)."""
    mutable = [n for n in names if n in config and params[n].mutable]
    if not mutable:
        return dict(config)
    k = 1 if len(mutable) == 1 or rng.random() < 0.7 else 2
    changed = dict(config)
    for i in sorted(rng.choice(len(mutable), size=k, replace=False)):
        name = mutable[int(i)]
        changed[name] = _perturb(params[name], config[name], rng, scale)
    return repair(params, order, names, changed, rng)


def neighbours(
    one: Callable[[], dict[str, Any]],
    key: Callable[[Mapping[str, Any]], str],
    original: Mapping[str, Any],
    n: int,
) -> list[dict[str, Any]]:
    """``n`` mutations from ``one()``, distinct from each other and from ``original`` where the
    space allows; when it is too small, the rest are repeats."""
    seen = {key(original)}
    out: list[dict[str, Any]] = []
    tries = 0
    while len(out) < n and tries < 10 * n + 20:
        tries += 1
        candidate = one()
        k = key(candidate)
        if k not in seen:
            seen.add(k)
            out.append(candidate)
    while len(out) < n:
        out.append(one())
    return out
