"""Searchers propose configurations; see `base.Searcher` for the protocol."""
from __future__ import annotations

from typing import Any, Mapping

from orchestrator.searchers.base import Pending, Searcher
from orchestrator.searchers.random import RandomSearcher

SEARCHER_TYPES = ("random",)


def make_searcher(kind: str, space: Any, mode: str, options: Mapping[str, Any] | None = None) -> Searcher:
    """Build the searcher named in the experiment's `searcher.type`."""
    options = dict(options or {})
    if kind == "random":
        return RandomSearcher(space, mode, **options)
    raise ValueError(f"unknown searcher type {kind!r}; choose one of {', '.join(SEARCHER_TYPES)}")


__all__ = ["Pending", "Searcher", "RandomSearcher", "make_searcher", "SEARCHER_TYPES"]
