"""Expected improvement at the acquisition level, averaged over fantasies of pending results.

MOBSTER (Klein et al. 2020) scores a candidate configuration by expected improvement (EI) of the
GP's prediction at the *acquisition level*: the highest rung with enough observations. With many
asynchronous workers, several evaluations are in flight whenever a proposal is made; MOBSTER
draws joint posterior samples ("fantasies") of their outcomes, conditions the model on each
sample and averages EI over them, so that a proposal is unattractive near a running evaluation
that is likely to do well and parallel workers spread out.

For an exact GP, conditioning on a fantasy changes only the posterior mean (the covariance does
not depend on the observed values), so all fantasies are scored with one joint posterior over
``[pending; candidates]`` and a linear update per sample: for pending inputs P with fantasy
values y_s and candidates C,

    mu_s(C) = mu(C) + S_CP (S_PP + noise I)^-1 (y_s - mu(P)),
    var(C)  = diag S_CC - diag S_CP (S_PP + noise I)^-1 S_PC,

which is exactly what ``model.fantasize`` followed by a posterior would compute, at the cost of
one posterior instead of one per fantasy. The training-side solve and the pending block are
computed once per suggestion and shared by every batch of candidates (:class:`TrainingSolve`);
only the variances of the candidates are formed, never their full covariance. EI is computed in
log space (Ament et al. 2023, BoTorch's ``_log_ei_helper``) so that it stays informative far
from the incumbent.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from botorch.acquisition.analytic import _log_ei_helper
from botorch.models import SingleTaskGP

DTYPE = torch.float64


class TrainingSolve:
    """The training-side half of the exact GP posterior, computed once per suggestion.

    BoTorch's ``model.posterior`` re-solves the training system and evaluates the full test
    covariance on every call, although a suggestion scores several batches of candidates against
    one model and needs only their variances and their covariances with the pending points.
    Here the Cholesky factor L of ``K_XX + noise I`` and ``alpha = (K_XX + noise I)^-1 (y - m)``
    are computed once, and a batch of inputs Z costs one kernel block and one triangular solve:

        mu(Z) = m + K_ZX alpha,    V_Z = L^-1 K_XZ,    Cov(Z, Z') = K_ZZ' - V_Z^T V_Z'.
    """

    def __init__(self, model: SingleTaskGP) -> None:
        self.kernel = model.covar_module
        self.mean_module = model.mean_module
        self.X = model.train_inputs[0]
        with torch.no_grad():
            self.noise = model.likelihood.noise.reshape(-1)[0]
            K = self.kernel(self.X, self.X).to_dense() + self.noise * torch.eye(len(self.X), dtype=DTYPE)
            self.L = _cholesky(K)
            resid = (model.train_targets - self.mean_module(self.X)).unsqueeze(-1)
            self.alpha = torch.cholesky_solve(resid, self.L).squeeze(-1)

    def cross(self, Z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu(Z), V_Z = L^-1 K_XZ)."""
        K_xz = self.kernel(self.X, Z).to_dense()
        mean = self.mean_module(Z) + K_xz.T @ self.alpha
        return mean, torch.linalg.solve_triangular(self.L, K_xz, upper=False)

    def prior_var(self, Z: torch.Tensor) -> torch.Tensor:
        return self.kernel(Z, diag=True)


def training_solve(model: SingleTaskGP) -> TrainingSolve:
    """The model's `TrainingSolve`, built on first use and kept on the model (one per suggestion)."""
    solve = getattr(model, "_rung_training_solve", None)
    if solve is None:
        solve = TrainingSolve(model)
        model._rung_training_solve = solve
    return solve


@dataclass
class Fantasies:
    """Sampled outcomes of the pending evaluations, with what every candidate batch reuses."""

    X: torch.Tensor  # (P, D) inputs of the pending evaluations
    values: torch.Tensor  # (S, P) standardized fantasy observations
    at_level: torch.Tensor  # (P,) bool: pending evaluation targets the acquisition level
    V: torch.Tensor  # (N_train, P) = L^-1 K_XP
    L_pp: torch.Tensor  # Cholesky factor of the pending block of the posterior plus noise, S_PP
    resid: torch.Tensor  # (S, P) fantasy values minus the posterior mean at the pending inputs
    incumbents: torch.Tensor  # (S,) lowest smoothed fantasy at the acquisition level (inf if none)


def sample_fantasies(model: SingleTaskGP, X_pending: np.ndarray, at_level: np.ndarray, samples: int,
                     rng: np.random.Generator) -> Fantasies | None:
    """Joint samples of the noisy outcomes at ``X_pending`` (None when nothing is pending)."""
    if len(X_pending) == 0 or samples <= 0:
        return None
    solve = training_solve(model)
    X = torch.as_tensor(X_pending, dtype=DTYPE)
    mask = torch.as_tensor(at_level, dtype=torch.bool)
    with torch.no_grad():
        mean, V = solve.cross(X)
        latent = solve.kernel(X, X).to_dense() - V.T @ V  # posterior covariance at the pending inputs
        L_pp = _cholesky(latent + solve.noise * torch.eye(len(X), dtype=DTYPE))
        z = torch.as_tensor(rng.standard_normal((samples, len(X_pending))), dtype=DTYPE)
        values = mean.unsqueeze(0) + z @ L_pp.T
        resid = values - mean.unsqueeze(0)
        incumbents = torch.full((samples,), float("inf"), dtype=DTYPE)
        if bool(mask.any()):
            # A pending evaluation at the acquisition level that does well in a fantasy becomes
            # that fantasy's incumbent, at the conditioned posterior *mean* there, not the noisy
            # draw itself: the minimum of several noisy draws is biased low, and a too-low
            # incumbent turns EI into pure exploration exactly when many workers are busy.
            B = torch.cholesky_solve(latent, L_pp).T  # (P, P) = S_PP_latent (S_PP + noise)^-1
            smoothed = mean.unsqueeze(0) + resid @ B.T  # (S, P)
            incumbents = smoothed[:, mask].min(dim=1).values
    return Fantasies(X, values, mask, V, L_pp, resid, incumbents)


def _cholesky(cov: torch.Tensor) -> torch.Tensor:
    jitter = 1e-9
    eye = torch.eye(cov.shape[-1], dtype=cov.dtype)
    for _ in range(8):
        L, info = torch.linalg.cholesky_ex(cov + jitter * eye)
        if int(info) == 0:
            return L
        jitter *= 10
    return torch.diag(cov.diagonal().clamp_min(1e-12).sqrt())


def log_ei(model: SingleTaskGP, X: np.ndarray, best: float, fantasies: Fantasies | None) -> np.ndarray:
    """log EI (minimization) at candidate inputs ``X`` (n, D), averaged over ``fantasies``.

    ``best`` is the incumbent (lowest standardized observation at the acquisition level); a
    pending evaluation at the acquisition level whose fantasized posterior mean beats it becomes
    that sample's incumbent.
    """
    solve = training_solve(model)
    Xc = torch.as_tensor(X, dtype=DTYPE)
    with torch.no_grad():
        mean, V_c = solve.cross(Xc)
        var = solve.prior_var(Xc) - (V_c * V_c).sum(0)
        if fantasies is None:
            return _log_ei(mean.unsqueeze(0), var, torch.tensor([best], dtype=DTYPE)).numpy()
        S_cp = solve.kernel(Xc, fantasies.X).to_dense() - V_c.T @ fantasies.V  # (C, P) posterior cov
        A = torch.cholesky_solve(S_cp.T, fantasies.L_pp).T  # (C, P) = S_CP S_PP^-1
        var = var - (A * S_cp).sum(-1)
        means = mean.unsqueeze(0) + fantasies.resid @ A.T  # (S, C)
        bests = torch.clamp(fantasies.incumbents, max=best)
        return _log_ei(means, var, bests).numpy()


def _log_ei(means: torch.Tensor, var: torch.Tensor, bests: torch.Tensor) -> torch.Tensor:
    """log of the mean over samples s of EI_s = sigma h((best_s - mu_s) / sigma)."""
    sigma = var.clamp_min(1e-12).sqrt()
    u = (bests.unsqueeze(-1) - means) / sigma
    per_sample = _log_ei_helper(u) + sigma.log()
    return torch.logsumexp(per_sample, dim=0) - np.log(per_sample.shape[0])
