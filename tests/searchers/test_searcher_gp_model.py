"""The MOBSTER GP and its acquisition on toy problems (orchestrator/searchers/gp_model.py,
acquisition.py): the model predicts, EI points at the optimum, fantasies push proposals apart."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from orchestrator.searchers.acquisition import _log_ei, log_ei, sample_fantasies
from orchestrator.searchers.gp_model import GPFitter, Observations, resource_coordinate, standardize


def smooth(X: np.ndarray) -> np.ndarray:
    """A smooth function of 3 config dims and a resource dim (value improves with resource)."""
    x, r = X[:, :3], X[:, 3]
    return np.sin(3 * x[:, 0]) + (x[:, 1] - 0.4) ** 2 * 2 + 0.5 * x[:, 2] + 0.8 * (1 - r) ** 2


@pytest.mark.parametrize("kernel", ["matern", "expdecay"])
def test_posterior_beats_a_constant_predictor_on_held_out_points(kernel):
    rng = np.random.default_rng(0)
    X = rng.random((80, 4))
    X_test = rng.random((200, 4))
    y, mean, std = standardize(smooth(X))
    model = GPFitter(kernel, 3, refit_every=1).model(X, y, len(X), seed=0)
    pred = model.posterior(torch.as_tensor(X_test)).mean.detach().numpy().ravel() * std + mean
    truth = smooth(X_test)
    mse_gp = np.mean((pred - truth) ** 2)
    mse_const = np.mean((smooth(X).mean() - truth) ** 2)
    assert mse_gp < 0.1 * mse_const


def test_ei_prefers_the_true_optimum_region_on_a_1d_toy():
    x = np.array([0.0, 0.1, 0.25, 0.4, 0.55, 0.85, 1.0])
    f = lambda v: (v - 0.7) ** 2  # noqa: E731 - minimum at 0.7, not among the data
    X = np.c_[x, np.ones_like(x)]  # one resource level (normalized 1)
    y, mean, std = standardize(f(x))
    model = GPFitter("matern", 1, refit_every=1).model(X, y, len(X), seed=0)
    grid = np.linspace(0, 1, 201)
    scores = log_ei(model, np.c_[grid, np.ones_like(grid)], float(y.min()), None)
    assert abs(grid[int(np.argmax(scores))] - 0.7) < 0.1
    assert scores[np.abs(grid - 0.7) < 0.05].mean() > scores[grid < 0.3].mean() + 1.0


def test_a_fantasy_at_the_ei_peak_lowers_ei_there__most():
    x = np.array([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    X = np.c_[x, np.ones_like(x)]
    y, _, _ = standardize(np.cos(6 * x))
    model = GPFitter("matern", 1, refit_every=1).model(X, y, len(X), seed=0)
    grid = np.linspace(0, 1, 101)
    C = np.c_[grid, np.ones_like(grid)]
    plain = log_ei(model, C, float(y.min()), None)
    peak = grid[int(np.argmax(plain))]
    fant = sample_fantasies(model, np.array([[peak, 1.0]]), np.array([True]), 20, np.random.default_rng(0))
    with_pending = log_ei(model, C, float(y.min()), fant)
    i = int(np.argmax(plain))
    assert with_pending[i] < plain[i] - 0.5
    drop = np.exp(plain) - np.exp(with_pending)
    assert abs(grid[int(np.argmax(drop))] - peak) <= 0.02  # the pending point loses the most EI


def test_ei_over_fantasies_matches_conditioning_the_botorch_model_on_each_fantasy():
    # The shared-solve linear update of acquisition.py against BoTorch's own conditioning.
    rng = np.random.default_rng(1)
    X = rng.random((40, 4))
    y, _, _ = standardize(smooth(X) + 0.1 * rng.standard_normal(40))
    model = GPFitter("matern", 3, refit_every=1).model(X, y, len(X), seed=0)
    C, X_pending = rng.random((30, 4)), rng.random((4, 4))
    X_pending[0] = X[np.argmin(y)] + 0.01  # beside the incumbent: some fantasies there beat it
    fant = sample_fantasies(model, X_pending, np.array([True, False, False, True]), 3, np.random.default_rng(0))
    best = float(y.min())
    assert float(fant.incumbents.min()) < best
    scores = log_ei(model, C, best, fant)
    noise = model.likelihood.noise.detach().expand(len(X_pending), 1)
    model.posterior(torch.as_tensor(C))  # gpytorch conditions only a model that has predicted
    per_sample = []
    for s in range(3):
        conditioned = model.condition_on_observations(torch.as_tensor(X_pending), fant.values[s].unsqueeze(-1),
                                                      noise=noise)
        post = conditioned.posterior(torch.as_tensor(C))
        mean, var = post.mean.detach().squeeze(-1), post.variance.detach().squeeze(-1)
        incumbent = min(best, float(conditioned.posterior(torch.as_tensor(X_pending[[0, 3]])).mean.detach().min()))
        per_sample.append(_log_ei(mean.unsqueeze(0), var, torch.tensor([incumbent], dtype=torch.float64)))
    reference = torch.logsumexp(torch.stack(per_sample), dim=0) - np.log(3)
    assert np.allclose(scores, reference.numpy(), atol=1e-4)


def test_hyperparameter_refits_grow_apart_with_the_data():
    fitter = GPFitter("matern", 1, refit_every=10, refit_growth=0.1)
    rng = np.random.default_rng(0)
    X, y = rng.random((2000, 2)), rng.standard_normal(2000)
    fitted_at = []
    for n in range(2, 2001):
        before = fitter.fits
        fitter.model(X[:50], y[:50], n, seed=0)  # the data cap: the model sees a bounded subset
        if fitter.fits > before:
            fitted_at.append(n)
    assert fitted_at[:10] == [2, 12, 22, 32, 42, 52, 62, 72, 82, 92]  # every refit_every while small
    gaps = np.diff(fitted_at)
    assert all(gap >= max(10, np.ceil(0.1 * start)) for gap, start in zip(gaps, fitted_at))
    assert len(fitted_at) < 45  # about 10 + log(2000 / 100) / log(1.1): logarithmic, not n / 10 = 200
    fixed = GPFitter("matern", 1, refit_every=10)  # refit_growth 0: the fixed period
    assert fixed.refit_period() == 10


def test_the_data_cap_keeps_high_rungs_and_thins_low_ones_deterministically():
    obs = Observations()
    for t in range(300):
        obs.add(t, 1.0, float(t))
        if t % 3 == 0:
            obs.add(t, 3.0, float(t))
        if t % 9 == 0:
            obs.add(t, 9.0, float(t))
    rows = obs.select(200)
    res = np.asarray(obs.resource)[rows]
    assert len(rows) == 200
    assert (res == 9.0).sum() == 34 and (res == 3.0).sum() == 100 and (res == 1.0).sum() == 66
    assert np.array_equal(rows, obs.select(200))
    obs.add(5, 1.0, -1.0)  # a re-reported level replaces the value, adds no row
    assert len(obs) == 300 + 100 + 34 and obs.value[obs.rows[(5, 1.0)]] == -1.0


def test_resource_coordinate_is_log_scaled_to_the_unit_interval():
    scale = resource_coordinate([1, 3, 9, 27, 52])
    assert scale(1) == 0.0 and scale(52) == 1.0
    assert scale(9) == pytest.approx(np.log(9) / np.log(52))
