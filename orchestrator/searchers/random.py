"""Random search: configurations drawn uniformly from the space (log-uniform where `log`).

With asynchronous Hyperband this is ASHA (Li et al. 2020). Duplicates of configurations
already tried are redrawn a few times, since a repeated configuration wastes a worker.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from orchestrator.searchers.base import Pending
from spaces import Space


class RandomSearcher:
    """Uniform sampling from the space, avoiding configurations seen before."""

    def __init__(self, space: Space, mode: str = "min", max_redraws: int = 10) -> None:
        if isinstance(max_redraws, bool) or not isinstance(max_redraws, int) or max_redraws < 0:
            raise ValueError(f"max_redraws must be an integer >= 0, got {max_redraws!r}")
        self.space = space
        self.max_redraws = max_redraws
        self._seen: set[str] = set()

    def suggest(self, pending: Sequence[Pending], rng: np.random.Generator) -> dict[str, Any] | None:
        config = self.space.sample(rng)
        for _ in range(self.max_redraws):
            if self.space.key(config) not in self._seen:
                break
            config = self.space.sample(rng)
        return config

    def register(self, trial: int, config: Mapping[str, Any]) -> None:
        self._seen.add(self.space.key(config))

    def observe(self, trial: int, config: Mapping[str, Any], resource: float, value: float) -> None:
        pass  # random search does not learn

    def failed(self, trial: int) -> None:
        pass
