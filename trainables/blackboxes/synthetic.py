"""Multi-fidelity synthetic benchmarks: MF-Hartmann-3, MF-Hartmann-6 and MF-Branin.

These are the multi-fidelity versions of the classic Hartmann and Branin test functions introduced
by Kandasamy et al., "Multi-fidelity Bayesian Optimisation with Continuous Approximations" (BOCA,
ICML 2017) and shipped with their Dragonfly library (Kandasamy et al., JMLR 2020): the function's
coefficients are shifted by a bias proportional to ``1 - z`` for a fidelity ``z`` in (0, 1], so the
low-fidelity functions are correlated but biased approximations that coincide with the original at
``z = 1``. BOCA has a vector of fidelities; rung has one resource, so every fidelity coordinate is
set to ``z = resource / resource_max`` (the diagonal of BOCA's fidelity space).

- Hartmann (3-D and 6-D, on [0, 1]^d, minimized): ``f_z(x) = -sum_i alpha_i(z) exp(-sum_j A_ij
  (x_j - P_ij)^2)`` with ``alpha(z) = alpha - 0.1 (1 - z)``. Since ``alpha(z) <= alpha`` and every
  exponential is positive, ``f_z >= f_1 >= f*``: low fidelities are pessimistic and the bias
  ``0.1 (1 - z) sum_i exp(...)`` shrinks linearly to zero.
- Branin (on x1 in [-5, 10], x2 in [0, 15], minimized): ``a (x2 - b(z) x1^2 + c(z) x1 - r)^2 +
  s (1 - t(z)) cos(x1) + s`` with ``b(z) = b - 0.01 (1 - z)``, ``c(z) = c - 0.1 (1 - z)`` and
  ``t(z) = t + 0.005 (1 - z)`` (Dragonfly's constants). Its minimum over x at fidelity z is
  ``s t(z) >= s t = 0.397887``, so low fidelities are never better than the true optimum either.

Observation noise (opt-in, ``noise > 0``): Gaussian with standard deviation ``sigma(z) = noise *
(1 - z) + noise_floor``, i.e. short trainings are noisier, as partially trained models are. The
draw is a pure function of ``(seed, benchmark name, config, resource)`` (hashed with BLAKE2b and
turned into a normal variate by Box-Muller), never of global random state, so a replayed or resumed
search observes exactly the same numbers regardless of query order or process.

Cost model: ``elapsed = resource * unit_cost(config)`` seconds with ``unit_cost(x) = unit_cost *
(1 + cost_spread * mean(u))``, ``u`` the config rescaled to [0, 1]^d. Per-epoch cost that is
constant along training and varies mildly (by up to 1.5x by default) between configs, as it does
between cheap and expensive architectures, gives asynchronous schedulers realistic stragglers
while keeping the regret-vs-time picture driven by the objective.
"""

from __future__ import annotations

import abc
import hashlib
import math
import struct
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .base import Blackbox

__all__ = [
    "MultiFidelitySynthetic",
    "MFHartmann",
    "MFBranin",
    "mf_hartmann3",
    "mf_hartmann6",
    "mf_branin",
]

_HARTMANN_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_HARTMANN3_A = np.array([[3.0, 10.0, 30.0],
                         [0.1, 10.0, 35.0],
                         [3.0, 10.0, 30.0],
                         [0.1, 10.0, 35.0]])
_HARTMANN3_P = 1e-4 * np.array([[3689.0, 1170.0, 2673.0],
                                [4699.0, 4387.0, 7470.0],
                                [1091.0, 8732.0, 5547.0],
                                [381.0, 5743.0, 8828.0]])
_HARTMANN6_A = np.array([[10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
                         [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
                         [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
                         [17.0, 8.0, 0.05, 10.0, 0.1, 14.0]])
_HARTMANN6_P = 1e-4 * np.array([[1312.0, 1696.0, 5569.0, 124.0, 8283.0, 5886.0],
                                [2329.0, 4135.0, 8307.0, 3736.0, 1004.0, 9991.0],
                                [2348.0, 1451.0, 3522.0, 2883.0, 3047.0, 6650.0],
                                [4047.0, 8828.0, 8732.0, 5743.0, 1091.0, 381.0]])
#: Known global minima (value, one minimizer) of the full-fidelity functions. The literature
#: values (-3.86278, -3.32237, 0.397887) refined by L-BFGS-B on these very constants and rounded
#: *down* in the last digit, so that regret is >= 0 everywhere and < 1e-8 at the argmin.
HARTMANN3_OPTIMUM = -3.86277979
HARTMANN3_ARGMIN = (0.114614, 0.555649, 0.852547)
HARTMANN6_OPTIMUM = -3.322368012
HARTMANN6_ARGMIN = (0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573)
BRANIN_OPTIMUM = 5.0 / (4.0 * math.pi) - 1e-12  # 0.397887357729738...
BRANIN_ARGMINS = ((-math.pi, 12.275), (math.pi, 2.275), (9.42478, 2.475))
#: Maximum of Branin on its box, attained at (-5, 0); max - min is Branin's regret scale.
BRANIN_MAXIMUM = 308.129096


class MultiFidelitySynthetic(Blackbox):
    """Shared machinery of the synthetic multi-fidelity functions: config parsing, noise, cost.

    Subclasses define ``_names``, ``_low``, ``_high`` (the box) and :meth:`_noiseless`, the
    vectorized function ``(x [n, d], z [n]) -> values [n]``, and set ``optimum``, ``argmin`` (one
    known minimizer, in the order of ``space``) and ``regret_scale``. The metric is ``"value"`` (min).

    Args:
        noise: Noise standard deviation added at fidelity ``z -> 0``; it shrinks linearly in z.
        seed: Seed of the deterministic noise stream.
        noise_floor: Noise standard deviation that remains at full fidelity.
        resource_min, resource_max: The epoch range; fidelity is ``z = resource / resource_max``.
        unit_cost: Seconds per resource unit of the cheapest config.
        cost_spread: Relative extra per-unit cost of the most expensive config.
    """

    metric = "value"
    mode = "min"
    resource_name = "epoch"
    _names: tuple[str, ...]
    _low: np.ndarray
    _high: np.ndarray

    def __init__(self, *, noise: float = 0.0, seed: int = 0, noise_floor: float = 0.0,
                 resource_min: int = 1, resource_max: int = 81, unit_cost: float = 1.0,
                 cost_spread: float = 0.5) -> None:
        if noise < 0 or noise_floor < 0:
            raise ValueError(f"{self.name}: noise and noise_floor must be >= 0, "
                             f"got {noise} and {noise_floor}")
        if not 1 <= int(resource_min) <= int(resource_max):
            raise ValueError(f"{self.name}: need 1 <= resource_min <= resource_max, "
                             f"got {resource_min} and {resource_max}")
        if unit_cost <= 0 or cost_spread < 0:
            raise ValueError(f"{self.name}: need unit_cost > 0 and cost_spread >= 0, "
                             f"got {unit_cost} and {cost_spread}")
        self.noise = float(noise)
        self.noise_floor = float(noise_floor)
        self.seed = int(seed)
        self.resource_min = int(resource_min)
        self.resource_max = int(resource_max)
        self.unit_cost = float(unit_cost)
        self.cost_spread = float(cost_spread)
        self.space = {n: {"type": "float", "low": float(lo), "high": float(hi)}
                      for n, lo, hi in zip(self._names, self._low, self._high)}

    # -- the function ------------------------------------------------------------------------
    @abc.abstractmethod
    def _noiseless(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Vectorized noise-free values at points ``x`` [n, d] and fidelities ``z`` [n]."""

    def noiseless(self, config: Mapping[str, Any], resource: int) -> float:
        """The function value without observation noise (for analysis and tests)."""
        x = self._parse([config])
        z = np.array([self.check_resource(resource) / self.resource_max])
        return float(self._noiseless(x, z)[0])

    def fidelity(self, resource: int) -> float:
        """BOCA's fidelity ``z = resource / resource_max`` in (0, 1]."""
        return self.check_resource(resource) / self.resource_max

    def noise_std(self, resource: int) -> float:
        """Observation noise standard deviation at ``resource``: ``noise * (1 - z) + noise_floor``."""
        return self.noise * (1.0 - self.fidelity(resource)) + self.noise_floor

    # -- protocol ----------------------------------------------------------------------------
    def evaluate_batch(self, configs: Sequence[Mapping[str, Any]],
                       resources: Sequence[int]) -> list[dict[str, float]]:
        """Evaluate ``configs[i]`` at ``resources[i]``: ``{"value": f, "elapsed": seconds}``."""
        if len(configs) != len(resources):
            raise ValueError(f"{self.name}: {len(configs)} configs but {len(resources)} resources")
        if not configs:
            return []
        x = self._parse(configs)
        r = np.array([self.check_resource(v) for v in resources], dtype=np.float64)
        z = r / self.resource_max
        values = self._noiseless(x, z)
        sigma = self.noise * (1.0 - z) + self.noise_floor
        if np.any(sigma > 0):
            eps = np.array([_normal_from_hash(self.seed, self.name, row, int(ri))
                            for row, ri in zip(x, r)])
            values = values + sigma * eps
        u = (x - self._low) / (self._high - self._low)
        elapsed = r * self.unit_cost * (1.0 + self.cost_spread * u.mean(axis=1))
        return [{"value": float(v), "elapsed": float(e)} for v, e in zip(values, elapsed)]

    def _parse(self, configs: Sequence[Mapping[str, Any]]) -> np.ndarray:
        try:
            x = np.array([[float(c[n]) for n in self._names] for c in configs], dtype=np.float64)
        except KeyError as err:
            raise ValueError(f"{self.name}: config lacks parameter {err.args[0]!r}; "
                             f"expected {list(self._names)}") from None
        bad = (x < self._low - 1e-12) | (x > self._high + 1e-12) | ~np.isfinite(x)
        if bad.any():
            i, j = map(int, np.argwhere(bad)[0])
            raise ValueError(f"{self.name}: {self._names[j]}={x[i, j]!r} is outside "
                             f"[{self._low[j]}, {self._high[j]}]")
        return x


class MFHartmann(MultiFidelitySynthetic):
    """Multi-fidelity Hartmann-3 or Hartmann-6 on [0, 1]^d (Kandasamy et al., BOCA, ICML 2017).

    ``alpha(z) = alpha - 0.1 (1 - z)``; minimum ``-3.86278`` (3-D) or ``-3.32237`` (6-D) at full
    fidelity. Regret scale: ``|optimum|`` (the function lies in ``[optimum, 0)``).
    """

    def __init__(self, dim: int = 6, **kwargs: Any) -> None:
        if dim == 3:
            self._a, self._p = _HARTMANN3_A, _HARTMANN3_P
            self.optimum, self.argmin = HARTMANN3_OPTIMUM, HARTMANN3_ARGMIN
        elif dim == 6:
            self._a, self._p = _HARTMANN6_A, _HARTMANN6_P
            self.optimum, self.argmin = HARTMANN6_OPTIMUM, HARTMANN6_ARGMIN
        else:
            raise ValueError(f"MFHartmann: dim must be 3 or 6, got {dim!r}")
        self.dim = dim
        self.name = f"mf_hartmann{dim}"
        self.regret_scale = abs(self.optimum)
        self._names = tuple(f"x{i}" for i in range(dim))
        self._low = np.zeros(dim)
        self._high = np.ones(dim)
        super().__init__(**kwargs)

    def _noiseless(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        inner = (self._a[None] * (x[:, None, :] - self._p[None]) ** 2).sum(axis=2)  # [n, 4]
        alpha = _HARTMANN_ALPHA[None, :] - 0.1 * (1.0 - z)[:, None]
        return -(alpha * np.exp(-inner)).sum(axis=1)


class MFBranin(MultiFidelitySynthetic):
    """Multi-fidelity Branin on x1 in [-5, 10], x2 in [0, 15] (Kandasamy et al., BOCA, ICML 2017).

    ``b(z) = b - 0.01 (1 - z)``, ``c(z) = c - 0.1 (1 - z)``, ``t(z) = t + 0.005 (1 - z)`` as in
    Dragonfly; minimum ``0.397887`` at full fidelity. Regret scale: max - min on the box.
    """

    name = "mf_branin"
    optimum = BRANIN_OPTIMUM
    regret_scale = BRANIN_MAXIMUM - BRANIN_OPTIMUM
    argmin = BRANIN_ARGMINS[1]
    _names = ("x1", "x2")
    _low = np.array([-5.0, 0.0])
    _high = np.array([10.0, 15.0])

    def _noiseless(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        x1, x2 = x[:, 0], x[:, 1]
        gap = 1.0 - z
        b = 5.1 / (4.0 * math.pi ** 2) - 0.01 * gap
        c = 5.0 / math.pi - 0.1 * gap
        t = 1.0 / (8.0 * math.pi) + 0.005 * gap
        return (x2 - b * x1 ** 2 + c * x1 - 6.0) ** 2 + 10.0 * (1.0 - t) * np.cos(x1) + 10.0


def _normal_from_hash(seed: int, name: str, x: np.ndarray, resource: int) -> float:
    """A standard normal variate that is a pure function of its arguments (BLAKE2b + Box-Muller)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{seed}|{name}|{resource}|".encode())
    h.update(np.ascontiguousarray(x, dtype="<f8").tobytes())
    a, b = struct.unpack("<QQ", h.digest())
    u1 = (a + 1.0) / 18446744073709551616.0  # (0, 1]: log is finite
    u2 = b / 18446744073709551616.0
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def mf_hartmann3(noise: float = 0.0, seed: int = 0, **kwargs: Any) -> MFHartmann:
    """MF-Hartmann-3 (Kandasamy et al. 2017); ``kwargs`` as in :class:`MultiFidelitySynthetic`."""
    return MFHartmann(3, noise=noise, seed=seed, **kwargs)


def mf_hartmann6(noise: float = 0.0, seed: int = 0, **kwargs: Any) -> MFHartmann:
    """MF-Hartmann-6 (Kandasamy et al. 2017); ``kwargs`` as in :class:`MultiFidelitySynthetic`."""
    return MFHartmann(6, noise=noise, seed=seed, **kwargs)


def mf_branin(noise: float = 0.0, seed: int = 0, **kwargs: Any) -> MFBranin:
    """MF-Branin (Kandasamy et al. 2017); ``kwargs`` as in :class:`MultiFidelitySynthetic`."""
    return MFBranin(noise=noise, seed=seed, **kwargs)
