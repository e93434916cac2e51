"""Expected improvement at the acquisition level, averaged over fantasies of pending results.

MOBSTER (Klein et al. 2020) scores a candidate configuration by expected improvement (EI) of the
GP's prediction at the *acquisition level*: the highest rung with enough observations. With many
asynchronous workers, several evaluations are in flight whenever a proposal is made; MOBSTER
draws joint posterior samples ("fantasies") of their outcomes, conditions the model on each
sample and averages EI over them, so that a proposal is unattractive near a running evaluation
that is likely to do well and parallel workers spread out.

For an exact GP, conditioning on a fantasy changes only the posterior mean (the covariance does
not depend on the observed values), so all fantasies are scored with one joint posterior over
``[pending; candidates]`` from BoTorch and a linear update per sample: for pending inputs P with
fantasy values y_s and candidates C,

    mu_s(C) = mu(C) + S_CP (S_PP + noise I)^-1 (y_s - mu(P)),
    var(C)  = diag S_CC - diag S_CP (S_PP + noise I)^-1 S_PC,

which is exactly what ``model.fantasize`` followed by a posterior would compute, at the cost of
one posterior instead of one per fantasy. EI is computed in log space (Ament et al. 2023,
BoTorch's ``_log_ei_helper``) so that it stays informative far from the incumbent.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from botorch.acquisition.analytic import _log_ei_helper
from botorch.models import SingleTaskGP

DTYPE = torch.float64


@dataclass
class Fantasies:
    """Sampled outcomes of the pending evaluations: ``values`` is (samples, pending)."""

    X: torch.Tensor  # (P, D) inputs of the pending evaluations
    values: torch.Tensor  # (S, P) standardized fantasy observations
    at_level: torch.Tensor  # (P,) bool: pending evaluation targets the acquisition level


def sample_fantasies(model: SingleTaskGP, X_pending: np.ndarray, at_level: np.ndarray, samples: int,
                     rng: np.random.Generator) -> Fantasies | None:
    """Joint samples of the noisy outcomes at ``X_pending`` (None when nothing is pending)."""
    if len(X_pending) == 0 or samples <= 0:
        return None
    X = torch.as_tensor(X_pending, dtype=DTYPE)
    with torch.no_grad():
        post = model.posterior(X, observation_noise=True)
        mean = post.mean.squeeze(-1)
        cov = post.mvn.covariance_matrix
    L = _cholesky(cov)
    z = torch.as_tensor(rng.standard_normal((samples, len(X_pending))), dtype=DTYPE)
    values = mean.unsqueeze(0) + z @ L.T
    return Fantasies(X, values, torch.as_tensor(at_level, dtype=torch.bool))


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
    Xc = torch.as_tensor(X, dtype=DTYPE)
    with torch.no_grad():
        if fantasies is None:
            post = model.posterior(Xc)
            mean = post.mean.squeeze(-1)
            var = post.variance.squeeze(-1)
            return _log_ei(mean.unsqueeze(0), var, torch.tensor([best], dtype=DTYPE)).numpy()
        P = fantasies.X.shape[0]
        post = model.posterior(torch.cat([fantasies.X, Xc]))
        mean = post.mean.squeeze(-1)
        cov = post.mvn.covariance_matrix
        noise = model.likelihood.noise.reshape(-1)[0]
        S_pp = cov[:P, :P] + noise * torch.eye(P, dtype=DTYPE)
        S_cp = cov[P:, :P]
        A = torch.cholesky_solve(S_cp.T, _cholesky(S_pp)).T  # (C, P) = S_CP S_PP^-1
        var = cov[P:, P:].diagonal() - (A * S_cp).sum(-1)
        resid = fantasies.values - mean[:P].unsqueeze(0)  # (S, P)
        means = mean[P:].unsqueeze(0) + resid @ A.T  # (S, C)
        bests = torch.full((fantasies.values.shape[0],), best, dtype=DTYPE)
        if bool(fantasies.at_level.any()):
            # A pending evaluation at the acquisition level that does well in a fantasy becomes
            # that fantasy's incumbent, at the conditioned posterior *mean* there, not the noisy
            # draw itself: the minimum of several noisy draws is biased low, and a too-low
            # incumbent turns EI into pure exploration exactly when many workers are busy.
            B = torch.cholesky_solve(cov[:P, :P], _cholesky(S_pp)).T  # (P, P) = S_PP_latent (S_PP+noise)^-1
            smoothed = mean[:P].unsqueeze(0) + resid @ B.T  # (S, P)
            bests = torch.minimum(bests, smoothed[:, fantasies.at_level].min(dim=1).values)
        return _log_ei(means, var, bests).numpy()


def _log_ei(means: torch.Tensor, var: torch.Tensor, bests: torch.Tensor) -> torch.Tensor:
    """log of the mean over samples s of EI_s = sigma h((best_s - mu_s) / sigma)."""
    sigma = var.clamp_min(1e-12).sqrt()
    u = (bests.unsqueeze(-1) - means) / sigma
    per_sample = _log_ei_helper(u) + sigma.log()
    return torch.logsumexp(per_sample, dim=0) - np.log(per_sample.shape[0])
