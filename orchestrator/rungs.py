"""The rung ladder and Hyperband brackets.

Levels are r_k = min * eta^k below max, with max always the last level (Li et al. 2020,
"A System for Massively Parallel Hyperparameter Tuning", ASHA). Bracket s starts its trials
at level r_s; asynchronous Hyperband draws a new trial's bracket with probability
proportional to the number of configurations synchronous Hyperband would put into that
bracket, so brackets: 1 is plain ASHA.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

Number = float | int


def rung_levels(r_min: Number, r_max: Number, eta: Number) -> list[Number]:
    """Resource levels min, min*eta, ... (< max) then max; ints when min, max and eta are ints."""
    if not (r_min > 0 and r_max > r_min and eta > 1):
        raise ValueError(f"need 0 < min < max and reduction_factor > 1, got {r_min}, {r_max}, {eta}")
    integral = all(float(x).is_integer() for x in (r_min, r_max, eta))
    levels: list[Number] = []
    k = 0
    while True:
        level = r_min * eta**k
        if integral:
            level = int(round(level))
        if level >= r_max * (1 - 1e-12):
            break
        levels.append(level)
        k += 1
    levels.append(int(r_max) if integral else float(r_max))
    return levels


def hyperband_bracket_sizes(num_levels: int, eta: Number, brackets: int) -> list[int]:
    """Number of configurations synchronous Hyperband starts in each of the first `brackets` brackets.

    Bracket s starts at level s of a ladder with ``num_levels`` levels; with s_max = num_levels - 1,
    n_s = ceil((s_max + 1) / (s_max - s + 1) * eta^(s_max - s)) (Li et al. 2018, Hyperband).
    """
    s_max = num_levels - 1
    return [math.ceil((s_max + 1) / (s_max - s + 1) * eta ** (s_max - s)) for s in range(brackets)]


@dataclass(frozen=True)
class Ladder:
    """The rungs of a search and its brackets."""

    levels: tuple[Number, ...]
    eta: Number
    brackets: int

    @classmethod
    def build(cls, r_min: Number, r_max: Number, eta: Number, brackets: int = 1) -> "Ladder":
        levels = tuple(rung_levels(r_min, r_max, eta))
        if not 1 <= brackets <= len(levels):
            raise ValueError(f"brackets must be between 1 and {len(levels)} (the number of rungs), got {brackets}")
        return cls(levels, eta, brackets)

    @property
    def max_level(self) -> Number:
        return self.levels[-1]

    def bracket_levels(self, bracket: int) -> Sequence[Number]:
        """The rungs a trial of this bracket passes through, lowest first."""
        return self.levels[bracket:]

    def index(self, level: Number) -> int:
        return self.levels.index(level)

    def next_level(self, level: Number) -> Number | None:
        i = self.levels.index(level)
        return self.levels[i + 1] if i + 1 < len(self.levels) else None

    def bracket_probabilities(self) -> np.ndarray:
        sizes = np.asarray(hyperband_bracket_sizes(len(self.levels), self.eta, self.brackets), dtype=float)
        return sizes / sizes.sum()

    def draw_bracket(self, rng: np.random.Generator) -> int:
        if self.brackets == 1:
            return 0
        return int(rng.choice(self.brackets, p=self.bracket_probabilities()))
