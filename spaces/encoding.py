"""Configurations as points of the unit cube, for model-based searchers (GP, local search).

Layout, in definition order of the parameters:

- float / int: 1 dim, ``(x - low) / (high - low)``, on logarithms where ``log: true``;
- choice with k values: k one-hot dims;
- ordinal with k values: 1 dim, ``index / (k - 1)``;
- bool: 1 dim, 0 or 1;
- constant: no dims;
- each conditional parameter: one more dim after its value dims, 1 when active, 0 when inactive.
  An inactive parameter's value dims are 0.5 (numeric, ordinal, bool) or all 0 (one-hot), so all
  inactive points coincide and a stationary kernel sees them as one.

Decoding ignores the activity dims: activity follows from the decoded parents (walked in
dependency order), so every decoded point is a valid configuration.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import SpaceError
from .params import Param

__all__ = ["Slot", "Encoder", "to_unit", "from_unit"]

_MISSING = object()


@dataclass(frozen=True)
class Slot:
    """Where one parameter lives in the encoding: value dims ``[offset, offset + width)``."""

    param: Param
    offset: int
    width: int
    active_dim: int | None  # None for unconditional parameters


def to_unit(param: Param, value: Any) -> float:
    """One value of a numeric, ordinal or bool parameter as a number in [0, 1]."""
    return float(_to_unit_array(param, np.array([_as_number(param, value)]))[0])


def from_unit(param: Param, u: float) -> Any:
    """Inverse of :func:`to_unit`, snapping to the nearest admissible value."""
    return _from_unit_array(param, np.array([u], dtype=float))[0]


def _as_number(param: Param, value: Any) -> float:
    if param.kind == "ordinal":
        return float(param.index(value))
    return float(value)


def _to_unit_array(param: Param, x: np.ndarray) -> np.ndarray:
    kind = param.kind
    if kind in ("float", "int"):
        if param.log:
            lo, hi = math.log(param.low), math.log(param.high)
            with np.errstate(divide="ignore", invalid="ignore"):
                u = (np.log(x) - lo) / (hi - lo)
        else:
            u = (x - param.low) / (param.high - param.low)
    elif kind == "ordinal":
        k = len(param.values)
        u = x / (k - 1) if k > 1 else np.full_like(x, 0.5)
    else:  # bool
        u = x
    return np.clip(u, 0.0, 1.0)


def _from_unit_array(param: Param, u: np.ndarray) -> list[Any]:
    u = np.clip(np.nan_to_num(u, nan=0.5), 0.0, 1.0)
    kind = param.kind
    if kind in ("float", "int"):
        if param.log:
            lo, hi = math.log(param.low), math.log(param.high)
            x = np.exp(lo + u * (hi - lo))
        else:
            x = param.low + u * (param.high - param.low)
        x = np.clip(x, param.low, param.high)
        if kind == "int":
            return [int(v) for v in np.clip(np.rint(x), param.low, param.high)]
        return [float(v) for v in x]
    if kind == "ordinal":
        k = len(param.values)
        return [param.values[int(i)] for i in np.rint(u * (k - 1))]
    return [bool(v >= 0.5) for v in u]  # bool


class Encoder:
    """Encodes configurations of a fixed list of parameters; see the module docstring for layout."""

    def __init__(self, params: Sequence[Param], order: Sequence[str]) -> None:
        self.params = {p.name: p for p in params}
        self.order = list(order)
        self.slots: list[Slot] = []
        offset = 0
        for p in params:
            width = len(p.values) if p.kind == "choice" else (0 if p.kind == "constant" else 1)
            active = offset + width if p.conditional else None
            self.slots.append(Slot(p, offset, width, active))
            offset += width + (1 if p.conditional else 0)
        self.dim = offset
        self._slot = {s.param.name: s for s in self.slots}

    @property
    def labels(self) -> list[str]:
        """A name for each dim: ``lr``, ``optimizer=sgd``, ``momentum?`` (activity)."""
        out: list[str] = []
        for s in self.slots:
            p = s.param
            if p.kind == "choice":
                out.extend(f"{p.name}={v}" for v in p.values)
            elif s.width:
                out.append(p.name)
            if s.active_dim is not None:
                out.append(f"{p.name}?")
        return out

    def encode_many(self, configs: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """``(n, dim)`` float64 in [0, 1]; loops over parameters, vectorised over configurations."""
        n = len(configs)
        X = np.empty((n, self.dim), dtype=np.float64)
        for s in self.slots:
            p = s.param
            column = [c.get(p.name, _MISSING) for c in configs]
            present = np.fromiter((v is not _MISSING for v in column), dtype=bool, count=n)
            if s.active_dim is not None:
                X[:, s.active_dim] = present
            if s.width == 0:
                continue
            rows = np.flatnonzero(present)
            try:
                if p.kind == "choice":
                    block = np.zeros((n, s.width))
                    block[rows, [p.index(column[i]) for i in rows]] = 1.0
                    X[:, s.offset:s.offset + s.width] = block
                else:
                    x = np.full(n, np.nan)
                    x[rows] = [_as_number(p, column[i]) for i in rows]
                    u = _to_unit_array(p, x)
                    u[~present] = 0.5
                    X[:, s.offset] = u
            except (ValueError, TypeError) as exc:
                raise SpaceError("config", p.name, f"cannot encode: {exc}") from None
        return X

    def decode_many(self, X: np.ndarray) -> list[dict[str, Any]]:
        """The nearest valid configuration for each row of ``X``."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise ValueError(f"expected an array of shape (n, {self.dim}), got {X.shape}")
        n = X.shape[0]
        columns: dict[str, list[Any]] = {}
        for s in self.slots:
            p = s.param
            if p.kind == "constant":
                columns[p.name] = [p.value] * n
            elif p.kind == "choice":
                block = np.nan_to_num(X[:, s.offset:s.offset + s.width], nan=0.0)
                columns[p.name] = [p.values[int(i)] for i in np.argmax(block, axis=1)]
            else:
                columns[p.name] = _from_unit_array(p, X[:, s.offset])
        out = []
        for row in range(n):
            config: dict[str, Any] = {}
            for name in self.order:
                p = self.params[name]
                if p.condition is None or p.condition.holds(config):
                    config[name] = columns[name][row]
            out.append({s.param.name: config[s.param.name] for s in self.slots if s.param.name in config})
        return out
