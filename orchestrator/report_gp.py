"""`gp_fit.png`: how well the GP searcher's model predicts results it has not seen.

Refits the searcher's *own* model code (`orchestrator.searchers.gp_model`: the same kernel,
input encoding, resource scale, standardization and data cap as `searcher: {type: gp}` with the
search's options) on the rung results of 80% of the trials, and predicts the other 20% at the
levels they reached. Holding out whole trials, not single results, keeps a trial's own
low-rung results from leaking its high-rung value, so the figure shows how the model
generalizes to new configurations, which is what the acquisition relies on.
"""
from __future__ import annotations

import inspect
import math
from pathlib import Path
from typing import Any

import numpy as np

from orchestrator.report_data import SearchData

HOLDOUT = 0.2
MIN_TRIALS = 10  # trials with a rung result needed before a held-out check means anything
MAX_HELD_OUT = 1000  # held-out points predicted (and drawn) at most


def _searcher_defaults() -> dict[str, Any]:
    from orchestrator.searchers.gp import GPSearcher

    params = inspect.signature(GPSearcher.__init__).parameters
    return {k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty}


def gp_fit(data: SearchData, path: Path, seed: int = 0) -> tuple[bool, str]:
    """Draw predicted vs observed for held-out trials; (drawn?, caption or reason skipped)."""
    try:
        import torch

        from orchestrator.searchers.gp_model import GPFitter, Observations, resource_coordinate, standardize
        from spaces import Space
    except ImportError as err:  # torch/BoTorch missing: say so, never draw something else
        return False, f"the GP model code could not be imported ({err})"
    options = {**_searcher_defaults(), **{k: v for k, v in data.spec["searcher"].items() if k != "type"}}
    mask = data.res_at_rung if options.get("data", "rungs") == "rungs" else np.ones(data.res_row.size, bool)
    rows, res, val = data.res_row[mask], data.res_resource[mask], data.sign * data.res_value[mask]
    # latest value per (trial, resource), as the searcher's Observations keep it
    keys = np.column_stack([rows, res])
    _, last = np.unique(keys[::-1], axis=0, return_index=True)
    pick = (rows.size - 1 - last)
    pick.sort()
    rows, res, val = rows[pick], res[pick], val[pick]
    trials = np.unique(rows)
    if trials.size < MIN_TRIALS:
        return False, f"only {trials.size} trial(s) have a rung result; a held-out check needs {MIN_TRIALS}"
    rng = np.random.default_rng(seed)
    held = rng.choice(trials, max(1, int(round(HOLDOUT * trials.size))), replace=False)
    test = np.isin(rows, held)
    space = Space.from_dict(data.spec["space"], source="journal")
    scale = resource_coordinate(list(data.levels))
    encoded = space.encode_many([data.configs[i] for i in trials])
    enc_of = {int(t): encoded[i] for i, t in enumerate(trials)}

    def inputs(sel: np.ndarray) -> np.ndarray:
        return np.column_stack([np.stack([enc_of[int(t)] for t in rows[sel]]), [scale(r) for r in res[sel]]])

    obs = Observations()
    train_idx = np.flatnonzero(~test)
    for i in train_idx:
        obs.add(int(rows[i]), float(res[i]), float(val[i]))
    train = train_idx[obs.select(int(options["max_points"]))]  # the searcher's own data cap
    y, mean, std = standardize(val[train])
    test_idx = np.flatnonzero(test)
    if test_idx.size > MAX_HELD_OUT:
        test_idx = np.sort(rng.choice(test_idx, MAX_HELD_OUT, replace=False))
    previous = torch.get_num_threads()
    torch.set_num_threads(max(1, int(options.get("threads", 1))))
    try:
        fitter = GPFitter(options["kernel"], space.dim, refit_every=1, fit_iterations=int(options["fit_iterations"]))
        model = fitter.model(inputs(train), y, len(obs), seed=seed)
        with torch.no_grad():
            post = model.posterior(torch.as_tensor(inputs(test_idx), dtype=torch.float64))
            mu = post.mean.squeeze(-1).numpy() * std + mean
            sd = post.variance.clamp_min(0).sqrt().squeeze(-1).numpy() * std
    finally:
        torch.set_num_threads(previous)
    observed = val[test_idx] * data.sign
    predicted = mu * data.sign
    _draw(data, path, res[test_idx], observed, predicted, sd, len(train), len(held), options["kernel"])
    rmse = float(np.sqrt(np.mean((observed - predicted) ** 2)))
    return True, (f"GP ({options['kernel']} kernel) fitted on {len(train)} rung results of 80% of the trials, "
                  f"predicting the {test_idx.size} rung results of {len(held)} held-out trials: RMSE {rmse:.4g}")


def _draw(data: SearchData, path: Path, levels: np.ndarray, observed: np.ndarray, predicted: np.ndarray,
          sd: np.ndarray, n_train: int, n_held: int, kernel: str) -> None:
    import matplotlib.pyplot as plt

    from orchestrator.plots import DPI, level_colors

    fig, ax = plt.subplots(figsize=(6.4, 6))
    colors = level_colors(len(data.levels))
    for level, color in zip(data.levels, colors):
        sel = levels == level
        if not sel.any():
            continue
        o, p, s = observed[sel], predicted[sel], sd[sel]
        rho = _rank_corr(o, p)
        label = f"{data.resource_name} {level:g}: n={sel.sum()}, RMSE {np.sqrt(np.mean((o - p) ** 2)):.3g}" + \
            (f", Spearman {rho:.2f}" if rho is not None else "")
        if sel.sum() <= 300:
            ax.errorbar(o, p, yerr=2 * s, fmt="o", ms=3.5, color=color, ecolor=color, elinewidth=0.6, alpha=0.75, label=label)
        else:
            ax.scatter(o, p, s=6, color=color, alpha=0.5, label=label)
    both = np.r_[observed, predicted]
    lo, hi = np.percentile(both, [0.5, 99.5])
    pad = 0.05 * (hi - lo) if hi > lo else 1.0
    lim = (lo - pad, hi + pad)
    ax.plot(lim, lim, color="0.4", lw=0.8, ls="--")
    ax.set_xlim(lim)
    ax.set_ylim(lim)
    ax.set_aspect("equal")
    ax.set_xlabel(f"observed {data.metric}")
    ax.set_ylabel(f"GP posterior mean (bars: +-2 sd)")
    ax.set_title(f"GP fit on held-out trials ({kernel} kernel)\ntrained on {n_train} results of 80% of trials, "
                 f"tested on {n_held} other trials", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def _rank_corr(a: np.ndarray, b: np.ndarray) -> float | None:
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    from scipy.stats import spearmanr

    rho = float(spearmanr(a, b).statistic)
    return rho if math.isfinite(rho) else None
