"""The `Searcher` protocol: which configuration to try next.

A searcher is pure: it sees configurations and results as events and answers `suggest`.
Randomness comes in as an argument (a generator derived from the seed and the decision
index) so that a resumed search continues deterministically. `pending` lists evaluations
that are running right now; model-based searchers fantasize their outcomes so that
parallel workers do not all chase the same point (Klein et al. 2020, MOBSTER).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Protocol, Sequence, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class Pending:
    """An evaluation in flight: `trial` is training `config` up to `resource`."""

    trial: int
    config: Mapping[str, Any]
    resource: float


@runtime_checkable
class Searcher(Protocol):
    """What the loop needs from a searcher. Values are in the experiment's `mode` sense."""

    def suggest(self, pending: Sequence[Pending], rng: np.random.Generator) -> dict[str, Any] | None:
        """A new configuration, or None when the space is exhausted."""

    def register(self, trial: int, config: Mapping[str, Any]) -> None:
        """A trial with `config` now exists (called live and on journal replay)."""

    def observe(self, trial: int, config: Mapping[str, Any], resource: float, value: float) -> None:
        """`trial` reported `value` at `resource` (called live and on journal replay)."""

    def failed(self, trial: int) -> None:
        """`trial` failed; it will never report again."""


def export_state(searcher: Searcher) -> dict[str, Any] | None:
    """A searcher's learned state that replaying events cannot rebuild (e.g. fitted GP
    hyperparameters), when it changed; searchers without any simply lack `export_state`."""
    method = getattr(searcher, "export_state", None)
    return method() if callable(method) else None


def import_state(searcher: Searcher, state: dict[str, Any]) -> None:
    method = getattr(searcher, "import_state", None)
    if callable(method):
        method(state)
