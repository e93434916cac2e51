"""The `Blackbox` protocol shared by rung's benchmark objectives.

A blackbox stands in for a real training run in the simulated executor: given a configuration and a
resource level (e.g. epochs) it returns the metrics that training would have reported there, plus
``"elapsed"``, the *cumulative* training seconds needed to reach that level. This is the shape of
tabulated and surrogate benchmarks (Eggensperger et al., HPOBench 2021; Pfisterer et al., YAHPO Gym
2022), and the simulator advances its virtual clock by it, so ``elapsed`` must be non-decreasing in
the resource for a fixed configuration.

Subclasses implement one method, :meth:`Blackbox.evaluate_batch`; single queries and learning
curves are served through it so that every path returns identical numbers.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["Blackbox", "BenchmarkDataError"]


class BenchmarkDataError(FileNotFoundError):
    """Benchmark data files (e.g. the YAHPO LCBench surrogate) are not where they were looked for.

    A subclass of :class:`FileNotFoundError` so callers that already handle missing files keep
    working; its message is a single line naming the directory and how to point rung elsewhere.
    """


class Blackbox(abc.ABC):
    """A multi-fidelity objective ``f(config, resource) -> {metric: value, ..., "elapsed": s}``.

    Attributes:
        name: Short identifier used in logs and reports, e.g. ``"mf_hartmann6"``.
        metric: The default metric to optimize (a key of the returned dict).
        mode: ``"min"`` or ``"max"`` for ``metric``.
        resource_name: What the resource counts, e.g. ``"epoch"``.
        resource_min, resource_max: The valid integer resource range (inclusive).
        space: The search space as plain data in rung's YAML space language, e.g.
            ``{"x0": {"type": "float", "low": 0.0, "high": 1.0}}``.
        optimum: Best achievable value of ``metric`` (for regret), or ``None`` if unknown.
        regret_scale: Positive scale dividing the regret in :meth:`normalized_regret` (typically
            the range of ``metric`` over the domain), or ``None`` if unknown.

    Instances hold plain data only, so they pickle cheaply to worker processes; expensive state
    (an ONNX session) is created lazily inside the worker.
    """

    name: str
    metric: str
    mode: str
    resource_name: str
    resource_min: int
    resource_max: int
    space: dict[str, dict[str, Any]]
    optimum: float | None
    regret_scale: float | None

    @abc.abstractmethod
    def evaluate_batch(
        self, configs: Sequence[Mapping[str, Any]], resources: Sequence[int]
    ) -> list[dict[str, float]]:
        """Evaluate ``configs[i]`` at ``resources[i]`` for every i; the fast path for many queries."""

    def __call__(self, config: Mapping[str, Any], resource: int) -> dict[str, float]:
        """Metrics (python floats) of ``config`` trained to ``resource``, with cumulative ``elapsed``."""
        return self.evaluate_batch([config], [resource])[0]

    def curve(self, config: Mapping[str, Any], resources: Sequence[int]) -> list[dict[str, float]]:
        """The learning curve of one config: ``[self(config, r) for r in resources]``, batched."""
        resources = list(resources)
        if not resources:
            return []
        return self.evaluate_batch([config] * len(resources), resources)

    def normalized_regret(self, value: float) -> float:
        """``(value - optimum) / regret_scale`` for ``mode="min"``, mirrored for ``"max"``.

        Zero at the optimum, about one at the worst value of the domain; non-negative up to
        observation noise (and, for surrogates, up to the surrogate exceeding its training data).
        """
        if self.optimum is None or not self.regret_scale:
            raise ValueError(f"{self.name}: no known optimum/scale for metric {self.metric!r}, "
                             "so normalized regret is undefined")
        gap = (value - self.optimum) if self.mode == "min" else (self.optimum - value)
        return float(gap / self.regret_scale)

    def check_resource(self, resource: Any) -> int:
        """Return ``resource`` as an int, or raise ValueError if it is not an integer in range."""
        try:
            as_float = float(resource)
        except (TypeError, ValueError):
            raise ValueError(f"{self.name}: resource must be an integer, got {resource!r}") from None
        if not math.isfinite(as_float) or as_float != int(as_float):
            raise ValueError(f"{self.name}: resource must be an integer, got {resource!r}")
        r = int(as_float)
        if not self.resource_min <= r <= self.resource_max:
            raise ValueError(f"{self.name}: {self.resource_name}={r} is outside "
                             f"[{self.resource_min}, {self.resource_max}]")
        return r

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(name={self.name!r}, metric={self.metric!r}, "
                f"mode={self.mode!r}, {self.resource_name}=[{self.resource_min}, "
                f"{self.resource_max}])")
