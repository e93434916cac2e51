"""Searchers propose configurations; see `base.Searcher` for the protocol.

`SEARCHERS` is the registry the experiment loader validates against: each entry names the
options its YAML block accepts (everything under `searcher:` besides `type`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from orchestrator.searchers.base import Pending, Searcher
from orchestrator.searchers.random import RandomSearcher

# gp and tpe import torch/BoTorch and Optuna; they load on first use so that random search
# (and `rung validate`) does not pay for those imports.
GP_OPTIONS = frozenset({"initial_random", "min_points", "data", "kernel", "candidates", "local_starts",
                        "local_neighbours", "local_steps", "fantasize", "fantasy_samples", "max_points",
                        "refit_every", "refit_growth", "fit_iterations", "threads", "max_redraws"})
TPE_OPTIONS = frozenset({"n_startup_trials", "n_ei_candidates", "multivariate", "constant_liar", "max_redraws"})


@dataclass(frozen=True)
class SearcherEntry:
    """How to build one searcher type and which YAML options it takes."""

    build: Callable[..., Searcher]  # build(space, mode, levels, **options)
    options: frozenset[str]


def _random(space: Any, mode: str, levels: Sequence[float], **options: Any) -> Searcher:
    return RandomSearcher(space, mode, **options)


def _gp(space: Any, mode: str, levels: Sequence[float], **options: Any) -> Searcher:
    from orchestrator.searchers.gp import GPSearcher

    return GPSearcher(space, mode, levels, **options)


def _tpe(space: Any, mode: str, levels: Sequence[float], **options: Any) -> Searcher:
    from orchestrator.searchers.tpe import TPESearcher

    return TPESearcher(space, mode, levels, **options)


SEARCHERS: dict[str, SearcherEntry] = {
    "random": SearcherEntry(_random, frozenset({"max_redraws"})),
    "gp": SearcherEntry(_gp, GP_OPTIONS),
    "tpe": SearcherEntry(_tpe, TPE_OPTIONS),
}
SEARCHER_TYPES = tuple(SEARCHERS)


def make_searcher(kind: str, space: Any, mode: str, options: Mapping[str, Any] | None = None,
                  levels: Sequence[float] = ()) -> Searcher:
    """Build the searcher named in the experiment's `searcher.type`.

    `levels` are the rung levels of the search (lowest first), for searchers that model
    results across resource levels.
    """
    if kind not in SEARCHERS:
        raise ValueError(f"unknown searcher type {kind!r}; choose one of {', '.join(SEARCHERS)}")
    return SEARCHERS[kind].build(space, mode, tuple(levels), **dict(options or {}))


__all__ = ["Pending", "Searcher", "RandomSearcher", "SearcherEntry", "SEARCHERS", "SEARCHER_TYPES", "make_searcher"]
