"""The Gaussian process of the MOBSTER searcher: data over (configuration, resource) and its fit.

MOBSTER (Klein et al. 2020, "Model-based Asynchronous Hyperparameter and Neural Architecture
Search") models a trial's metric jointly over the configuration and the resource it was trained
for, so that cheap low-rung results inform predictions at the rung where proposals are scored.
This module holds the pieces that are about the model only, meeting the acquisition through
tensors (as BoTorch's layers do):

- :class:`Observations`: results in arrival order, capped for cost (all high-rung points kept,
  the lowest rungs thinned deterministically) and standardized in the minimization sense;
- :func:`make_kernel`: Matern-5/2 ARD on the encoded configuration times a Matern-5/2 kernel on
  the normalized log resource (``"matern"``), or the freeze-thaw form (``"expdecay"``,
  Swersky et al. 2014, MOBSTER's default): ``k_x(x, x') + k'_x(x, x') k_exp(r, r')`` where
  BoTorch's ``ExponentialDecayKernel`` lets the learning-curve part shrink as the resource grows;
- :class:`GPFitter`: an exact ``SingleTaskGP`` whose hyperparameters are re-fitted (by maximum
  marginal likelihood under their priors) only when the data has grown by ``refit_every`` new
  observations *and* by ``refit_growth`` (a fraction) since the last fit, warm-started from it; in
  between, the model keeps those hyperparameters and is only conditioned on the new data. A fit
  costs about half a second at the 400-point cap, so a fixed period would make re-fits most of
  the cost of a large search (a 256-worker LCBench run of 3,501 results: up to 350 fits, 147
  with ``refit_growth = 0.02``); growing the period with the data keeps the number of fits
  logarithmic in the data, as the maximum a-posteriori hyperparameters move less and less with
  each new point. That and the data cap keep a suggestion's cost flat as a search grows.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
from botorch.fit import fit_gpytorch_mll
from botorch.models import SingleTaskGP
from botorch.models.kernels.exponential_decay import ExponentialDecayKernel
from gpytorch.constraints import GreaterThan
from gpytorch.kernels import Kernel, MaternKernel, ScaleKernel
from gpytorch.likelihoods import GaussianLikelihood
from gpytorch.mlls import ExactMarginalLogLikelihood
from gpytorch.priors import GammaPrior, LogNormalPrior

KERNELS = ("matern", "expdecay")
DTYPE = torch.float64


def resource_coordinate(levels: Sequence[float]) -> "ResourceScale":
    """The map resource -> [0, 1] on a log scale over the search's rung levels."""
    lo, hi = float(min(levels)), float(max(levels))
    return ResourceScale(math.log(lo), math.log(hi))


@dataclass(frozen=True)
class ResourceScale:
    """``(log r - log r_min) / (log r_max - log r_min)``, clipped to [0, 1]."""

    log_min: float
    log_max: float

    def __call__(self, resource: float) -> float:
        span = self.log_max - self.log_min
        if span <= 0:
            return 1.0
        return min(1.0, max(0.0, (math.log(max(float(resource), 1e-300)) - self.log_min) / span))


@dataclass
class Observations:
    """Results in arrival order: one row per (trial, resource), the latest value kept."""

    rows: dict[tuple[int, float], int] = field(default_factory=dict)  # (trial, resource) -> row
    trial: list[int] = field(default_factory=list)
    resource: list[float] = field(default_factory=list)
    value: list[float] = field(default_factory=list)  # minimization sense

    def add(self, trial: int, resource: float, value: float) -> None:
        key = (trial, float(resource))
        row = self.rows.get(key)
        if row is None:
            self.rows[key] = len(self.trial)
            self.trial.append(trial)
            self.resource.append(float(resource))
            self.value.append(float(value))
        else:
            self.value[row] = float(value)

    def __len__(self) -> int:
        return len(self.trial)

    def select(self, max_points: int) -> np.ndarray:
        """Row indices of at most ``max_points`` rows: highest resources first, whole levels while
        they fit, then an evenly spaced (deterministic) subset of the level that overflows."""
        n = len(self.trial)
        if n <= max_points:
            return np.arange(n)
        res = np.asarray(self.resource)
        keep: list[np.ndarray] = []
        room = max_points
        for level in sorted(set(self.resource), reverse=True):
            rows = np.flatnonzero(res == level)
            if len(rows) <= room:
                keep.append(rows)
                room -= len(rows)
            else:
                if room > 0:
                    keep.append(rows[np.unique(np.linspace(0, len(rows) - 1, room).round().astype(int))])
                break
        return np.sort(np.concatenate(keep))


def standardize(y: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(standardized y, mean, std); a constant y gets std 1."""
    mean = float(y.mean())
    std = float(y.std())
    if not math.isfinite(std) or std < 1e-12:
        std = 1.0
    return (y - mean) / std, mean, std


def _config_matern(dim: int, active_dims: Sequence[int]) -> MaternKernel:
    # Dimension-scaled log-normal lengthscale prior (Hvarfner et al. 2024, BoTorch's default):
    # long lengthscales in many dimensions, so a few dozen points do not overfit.
    return MaternKernel(
        nu=2.5, ard_num_dims=dim, active_dims=tuple(active_dims),
        lengthscale_prior=LogNormalPrior(loc=math.sqrt(2) + 0.5 * math.log(dim), scale=math.sqrt(3)),
        lengthscale_constraint=GreaterThan(2.5e-2),
    )


def make_kernel(kind: str, config_dim: int) -> Kernel:
    """The covariance over inputs ``[encoded config (config_dim), normalized log resource]``."""
    cfg = list(range(config_dim))
    r = [config_dim]
    if kind == "matern":
        resource = MaternKernel(nu=2.5, active_dims=tuple(r), lengthscale_prior=LogNormalPrior(0.0, 1.0),
                                lengthscale_constraint=GreaterThan(2.5e-2))
        return ScaleKernel(_config_matern(config_dim, cfg) * resource, outputscale_prior=GammaPrior(2.0, 2.0))
    if kind == "expdecay":
        asymptote = ScaleKernel(_config_matern(config_dim, cfg), outputscale_prior=GammaPrior(2.0, 2.0))
        curve = ScaleKernel(_config_matern(config_dim, cfg)
                            * ExponentialDecayKernel(active_dims=tuple(r), power_prior=GammaPrior(3.0, 1.0),
                                                     offset_prior=GammaPrior(1.0, 20.0)),
                            outputscale_prior=GammaPrior(2.0, 4.0))
        return asymptote + curve
    raise ValueError(f"unknown kernel {kind!r}; choose one of {', '.join(KERNELS)}")


class GPFitter:
    """Builds the GP on each suggestion, re-fitting hyperparameters only once ``refit_every`` new
    observations and ``refit_growth`` x the data of the last fit have arrived (warm-started from
    the last fit; otherwise reusing its hyperparameters)."""

    def __init__(self, kernel: str, config_dim: int, refit_every: int, fit_iterations: int = 100,
                 refit_growth: float = 0.0) -> None:
        if kernel not in KERNELS:
            raise ValueError(f"unknown kernel {kernel!r}; choose one of {', '.join(KERNELS)}")
        self.kernel = kernel
        self.config_dim = config_dim
        self.refit_every = max(1, int(refit_every))
        self.fit_iterations = fit_iterations
        self.refit_growth = max(0.0, float(refit_growth))
        self._state: dict[str, Any] | None = None  # hyperparameters of the last fit
        self._fitted_at = -1  # number of observations at the last fit
        self.fits = 0

    def export_state(self) -> dict[str, Any] | None:
        """The last fit as plain data (for the journal), or None before the first fit."""
        if self._state is None:
            return None
        return {"fitted_at": self._fitted_at,
                "params": {k: v.tolist() for k, v in self._state.items() if torch.is_tensor(v)}}

    def import_state(self, state: dict[str, Any]) -> None:
        """Restore a fit written by `export_state` (journal replay on resume)."""
        self._state = {k: torch.tensor(v, dtype=DTYPE) for k, v in state["params"].items()}
        self._fitted_at = int(state["fitted_at"])

    def _new(self, X: torch.Tensor, Y: torch.Tensor) -> SingleTaskGP:
        likelihood = GaussianLikelihood(noise_prior=LogNormalPrior(loc=-4.0, scale=1.0),
                                        noise_constraint=GreaterThan(1e-6))
        model = SingleTaskGP(X, Y, likelihood=likelihood, covar_module=make_kernel(self.kernel, self.config_dim),
                             outcome_transform=None)
        return model.to(DTYPE)

    def refit_period(self) -> int:
        """New observations needed, since the last fit, before the next re-fit."""
        return max(self.refit_every, math.ceil(self.refit_growth * max(self._fitted_at, 0)))

    def model(self, X: np.ndarray, y: np.ndarray, n_observations: int, seed: int) -> SingleTaskGP:
        """The GP on standardized targets ``y`` at inputs ``X``; ``n_observations`` (all data,
        before the cap) decides whether hyperparameters are due for a re-fit."""
        tX = torch.as_tensor(X, dtype=DTYPE)
        tY = torch.as_tensor(y, dtype=DTYPE).unsqueeze(-1)
        model = self._new(tX, tY)
        if self._state is not None:
            model.load_state_dict(self._state, strict=False)
        due = self._state is None or n_observations - self._fitted_at >= self.refit_period()
        if due:
            torch.manual_seed(seed)
            mll = ExactMarginalLogLikelihood(model.likelihood, model)
            try:
                fit_gpytorch_mll(mll, optimizer_kwargs={"options": {"maxiter": self.fit_iterations}},
                                 max_attempts=2)
            except Exception:  # a failed fit keeps the warm-start hyperparameters (or the priors' modes)
                pass
            self._state = {k: v.detach().clone() for k, v in model.state_dict().items()
                           if not k.startswith("prediction_strategy")}
            self._fitted_at = n_observations
            self.fits += 1
        model.eval()
        return model
