"""MOBSTER: GP-based proposals across resource levels (Klein et al. 2020, "Model-based
Asynchronous Hyperparameter and Neural Architecture Search").

Asynchronous Hyperband decides *when* a trial runs and how far; this searcher decides *which*
configuration a new trial gets. A BoTorch/GPyTorch exact GP models the metric over
``[space encoding of the config, normalized log resource]`` (see :mod:`gp_model`), fitted on
every rung's results, so that the many cheap low-rung results steer proposals long before
enough trials reach the top rung. A proposal maximizes expected improvement at the
*acquisition level*, the highest rung with at least ``min_points`` observations, averaged over
fantasies of the evaluations still running (see :mod:`acquisition`), over random
configurations from the space plus a local search by mutation around the best of them; the
space draws and mutates only valid configurations, so categorical, integer, log-scale and
conditional parameters need no special casing here.

Purity and resume: ``register``/``observe``/``failed`` only append data; every fit happens in
``suggest``. Replaying a journal is therefore cheap, and the GP after ``rung resume`` is built
from the journal's results. Randomness comes only from the ``rng`` argument (numpy draws and the
torch seed of a fit). Hyperparameters are re-fitted once ``refit_every`` observations and
``refit_growth`` x the data of the previous fit have arrived, warm started from that fit; after
a resume the first suggestion re-fits them from the priors, so proposals after a resume can
differ slightly from an uninterrupted run's.

Options (YAML ``searcher: {type: gp, ...}``) and why their defaults:

- ``initial_random: 6``: random configurations until this many trials have a result (MOBSTER);
- ``min_points: 3``: observations a rung needs to become the acquisition level (MOBSTER);
- ``data: rungs``: model rung-level results only (``all``: every reported level);
- ``kernel: matern``: Matern-5/2 ARD x Matern-5/2 on log resource (``expdecay``: freeze-thaw);
- ``candidates: 500``, ``local_starts: 3``, ``local_neighbours: 16``, ``local_steps: 2``: the
  acquisition optimizer (random candidates, then hill-climbing by mutation from the best ones and
  from the incumbent);
- ``fantasize: true``, ``fantasy_samples: 20``: pending evaluations fantasized (MOBSTER's count);
- ``max_points: 400``, ``refit_every: 10``, ``refit_growth: 0.02``, ``fit_iterations: 100``,
  ``threads: 1``: cost control; latency stays flat as data grows (benchmarks/bench_gp_latency.py):
  re-fits every 10 results up to 500, then whenever the data has grown by 2%. Searches of a few
  hundred results are thus re-fitted exactly as before this option existed: 10% growth (every
  10 results only up to 100) did worse in the 8-worker searcher benchmark (the default ends
  lower in 22 of 31 runs that differed, sign test p = 0.03; docs/BENCHMARKS.md);
- ``max_redraws: 20``: draws of the random warm-up before giving up on a small, exhausted space.

Tried and pending configurations are never proposed again (candidates are filtered by their
encoding, the winner by ``space.key``); when every candidate is taken the searcher falls back to
random draws and answers None once those are taken too.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import torch

from orchestrator.searchers.acquisition import log_ei, sample_fantasies
from orchestrator.searchers.base import Pending
from orchestrator.searchers.gp_model import KERNELS, GPFitter, Observations, resource_coordinate, standardize
from spaces import Space

DATA_CHOICES = ("rungs", "all")


class GPSearcher:
    """Model-based proposals with a GP over (config, resource); see the module docstring."""

    def __init__(self, space: Space, mode: str = "min", levels: Sequence[float] = (), *,
                 initial_random: int = 6, min_points: int = 3, data: str = "rungs", kernel: str = "matern",
                 candidates: int = 500, local_starts: int = 3, local_neighbours: int = 16, local_steps: int = 2,
                 fantasize: bool = True, fantasy_samples: int = 20, max_points: int = 400,
                 refit_every: int = 10, refit_growth: float = 0.02, fit_iterations: int = 100,
                 threads: int = 1, max_redraws: int = 20) -> None:
        if data not in DATA_CHOICES:
            raise ValueError(f"data must be one of {', '.join(DATA_CHOICES)}, got {data!r}")
        if kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {', '.join(KERNELS)}, got {kernel!r}")
        for name, value, low in (("initial_random", initial_random, 1), ("min_points", min_points, 1),
                                 ("candidates", candidates, 1), ("local_starts", local_starts, 0),
                                 ("local_neighbours", local_neighbours, 1), ("local_steps", local_steps, 0),
                                 ("fantasy_samples", fantasy_samples, 1), ("max_points", max_points, 10),
                                 ("refit_every", refit_every, 1), ("fit_iterations", fit_iterations, 1),
                                 ("threads", threads, 1), ("max_redraws", max_redraws, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if isinstance(refit_growth, bool) or not isinstance(refit_growth, (int, float)) \
                or not 0 <= refit_growth <= 10:
            raise ValueError(f"refit_growth must be a number from 0 to 10, got {refit_growth!r}")
        if not isinstance(fantasize, bool):
            raise ValueError(f"fantasize must be true or false, got {fantasize!r}")
        self.space = space
        self.sign = 1.0 if mode == "min" else -1.0
        self.levels = tuple(sorted(float(v) for v in levels))
        self._rungs = set(self.levels)
        self.scale = resource_coordinate(self.levels or (1.0,))
        self.initial_random = initial_random
        self.min_points = min_points
        self.data = data
        self.candidates = candidates
        self.local_starts = local_starts
        self.local_neighbours = local_neighbours
        self.local_steps = local_steps
        self.fantasize = fantasize
        self.fantasy_samples = fantasy_samples
        self.max_points = max_points
        self.threads = threads
        self.max_redraws = max_redraws
        self.fitter = GPFitter(kernel, space.dim, refit_every, fit_iterations, refit_growth)
        self._exported_at = -1  # `_fitted_at` of the fit last handed to the journal
        self.obs = Observations()
        self.configs: dict[int, dict[str, Any]] = {}
        self._tried: set[str] = set()
        self._encoded: dict[int, np.ndarray] = {}  # trial -> encoded config (filled in suggest)
        self._tried_encodings: set[bytes] = set()
        # Pending evaluations come back on every suggestion (hundreds at 256 workers); a trial's
        # config never changes, so its key and encoding are computed once.
        self._pending_key: dict[int, str] = {}
        self._pending_row: dict[int, np.ndarray] = {}

    # ------------------------------------------------------------------ events
    def register(self, trial: int, config: Mapping[str, Any]) -> None:
        self.configs[trial] = dict(config)
        self._tried.add(self.space.key(config))

    def observe(self, trial: int, config: Mapping[str, Any], resource: float, value: float) -> None:
        if self.data == "rungs" and self._rungs and float(resource) not in self._rungs:
            return
        if trial not in self.configs:
            self.register(trial, config)
        self.obs.add(trial, float(resource), self.sign * float(value))

    def failed(self, trial: int) -> None:
        pass  # its results so far stay valid data; its config stays tried

    def export_state(self) -> dict[str, Any] | None:
        """The GP's fitted hyperparameters when they changed since the last call, else None.

        The loop journals them, so a resumed search warm-starts from the same fit the
        uninterrupted one would have used instead of re-fitting from the priors.
        """
        if self.fitter._fitted_at == self._exported_at:
            return None
        self._exported_at = self.fitter._fitted_at
        return self.fitter.export_state()

    def import_state(self, state: dict[str, Any]) -> None:
        self.fitter.import_state(state)
        self._exported_at = self.fitter._fitted_at

    def dataset(self) -> list[tuple[int, float, float]]:
        """(trial, resource, value in minimization sense) in arrival order: what the GP is fit on
        (before the ``max_points`` cap)."""
        return list(zip(self.obs.trial, self.obs.resource, self.obs.value))

    # ----------------------------------------------------------------- suggest
    def suggest(self, pending: Sequence[Pending], rng: np.random.Generator) -> dict[str, Any] | None:
        pending = list(pending)
        taken = self._tried | {self._key_of(p) for p in pending}
        if len(set(self.obs.trial)) < self.initial_random or len(self.obs) < 2:
            return self._random(rng, taken)
        previous = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            return self._model_based(pending, rng, taken)
        finally:
            torch.set_num_threads(previous)

    def _key_of(self, p: Pending) -> str:
        key = self._pending_key.get(p.trial)
        if key is None:
            key = self._pending_key[p.trial] = self.space.key(p.config)
        return key

    def _encode_pending(self, pending: Sequence[Pending]) -> np.ndarray:
        missing = [p for p in pending if p.trial not in self._pending_row]
        if missing:
            for p, row in zip(missing, self.space.encode_many([p.config for p in missing])):
                self._pending_row[p.trial] = row
        if len(self._pending_row) > 4 * len(pending) + 64:  # forget trials no longer running
            live = {p.trial for p in pending}
            self._pending_row = {t: r for t, r in self._pending_row.items() if t in live}
            self._pending_key = {t: k for t, k in self._pending_key.items() if t in live}
        if not pending:
            return np.empty((0, self.space.dim))
        return np.stack([self._pending_row[p.trial] for p in pending])

    def _random(self, rng: np.random.Generator, taken: set[str]) -> dict[str, Any] | None:
        config = self.space.sample(rng)
        for _ in range(self.max_redraws):
            if self.space.key(config) not in taken:
                return config
            config = self.space.sample(rng)
        return config if self.space.key(config) not in taken else None

    def _encode_trials(self, trials: Sequence[int]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(trials) if t not in self._encoded]
        if missing:
            for t, row in zip(missing, self.space.encode_many([self.configs[t] for t in missing])):
                self._encoded[t] = row
                self._tried_encodings.add(row.tobytes())
        if not trials:
            return np.empty((0, self.space.dim))
        return np.stack([self._encoded[t] for t in trials])

    def acquisition_level(self) -> float:
        """The highest resource with at least ``min_points`` observations (else the lowest observed)."""
        res = np.asarray(self.obs.resource)
        levels, counts = np.unique(res, return_counts=True)
        enough = levels[counts >= self.min_points]
        return float(enough.max()) if len(enough) else float(levels.min())

    def _inputs(self, encoded: np.ndarray, resources: Sequence[float] | float) -> np.ndarray:
        r = np.broadcast_to(np.asarray([self.scale(v) for v in np.atleast_1d(resources)]), (len(encoded),))
        return np.hstack([encoded, r[:, None]])

    def _model_based(self, pending: list[Pending], rng: np.random.Generator,
                     taken: set[str]) -> dict[str, Any] | None:
        rows = self.obs.select(self.max_points)
        trials = [self.obs.trial[i] for i in rows]
        resources = [self.obs.resource[i] for i in rows]
        X = self._inputs(self._encode_trials(trials), resources)
        y, _, _ = standardize(np.asarray([self.obs.value[i] for i in rows]))
        level = self.acquisition_level()
        at_level = np.asarray(resources) == level
        best = float(y[at_level].min()) if at_level.any() else float(y.min())
        best_trial = trials[int(np.flatnonzero(at_level)[np.argmin(y[at_level])])] if at_level.any() \
            else trials[int(np.argmin(y))]

        model = self.fitter.model(X, y, len(self.obs), seed=int(rng.integers(2**31 - 1)))
        fantasies = None
        if self.fantasize and pending:
            Xp = self._inputs(self._encode_pending(pending), [p.resource for p in pending])
            fantasies = sample_fantasies(model, Xp, np.asarray([float(p.resource) == level for p in pending]),
                                         self.fantasy_samples, rng)

        def score(configs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], np.ndarray]:
            """Drop configs already tried, pending or scored (by their encoding), score the rest."""
            if not configs:
                return [], np.empty(0)
            encoded = self.space.encode_many(configs)
            fresh = []
            for i, row in enumerate(encoded):
                b = row.tobytes()
                if b not in seen:
                    seen.add(b)
                    fresh.append(i)
            if not fresh:
                return [], np.empty(0)
            kept = [configs[i] for i in fresh]
            return kept, log_ei(model, self._inputs(encoded[fresh], level), best, fantasies)

        # Tried and pending configurations, by encoding (cheaper than `space.key` for hundreds
        # of candidates; the winner is checked by key below).
        self._encode_trials([t for t in self.configs if t not in self._encoded])
        seen = set(self._tried_encodings)
        if pending:
            seen |= {row.tobytes() for row in self._encode_pending(pending)}
        # Random candidates from the space (always valid configurations).
        pool, scores = score([self.space.sample(rng) for _ in range(self.candidates)])
        found: list[tuple[float, int, dict[str, Any]]] = [(float(v), i, c) for i, (c, v) in enumerate(zip(pool, scores))]

        # Local search: hill-climb by mutation from the best candidates and from the incumbent,
        # all starts' neighbourhoods scored in one batch per step.
        order = np.argsort(-scores, kind="stable")[: self.local_starts]
        starts = [(pool[i], float(scores[i])) for i in order] + [(self.configs[best_trial], -np.inf)]
        for _ in range(self.local_steps):
            moves: list[dict[str, Any]] = []
            owner: list[int] = []
            for k, (config, _) in enumerate(starts):
                for c in self.space.neighbours(config, rng, self.local_neighbours):
                    moves.append(c)
                    owner.append(k)
            kept_owner = {id(c): k for c, k in zip(moves, owner)}
            moved, values = score(moves)
            if not moved:
                break
            improved = False
            step_best = list(starts)
            for c, v in zip(moved, values):
                found.append((float(v), len(found), c))
                k = kept_owner[id(c)]
                if v > step_best[k][1]:
                    step_best[k] = (c, float(v))
                    improved = True
            starts = step_best
            if not improved:
                break
        found.sort(key=lambda item: (-item[0], item[1]))
        best_config = next((c for _, _, c in found if self.space.key(c) not in taken), None)
        if best_config is None:
            return self._random(rng, taken)
        return best_config
