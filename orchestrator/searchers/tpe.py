"""TPE proposals through Optuna's ``TPESampler`` (Bergstra et al. 2011, "Algorithms for
Hyper-Parameter Optimization"; Watanabe 2023 for Optuna's variant).

Optuna trials are told once, but a rung trial's result improves in fidelity as it climbs the
rungs and may be promoted long after it paused. So this searcher keeps its own record of each
trial's results and, at every ``suggest``, rebuilds a private in-memory study from that record:

- a trial that reached the top rung is ``COMPLETE`` with its value there;
- a trial with results below the top is ``PRUNED`` with its rung results as intermediate values
  (step = rung index). Optuna's TPE ranks pruned trials by the highest step reached, then by the
  value there, exactly the order "result at the highest rung each trial reached" implies and the
  way Optuna itself combines TPE with Hyperband pruning;
- a pending trial with no result yet is ``RUNNING``; with ``constant_liar: true`` TPE counts it
  among the bad ones, so parallel workers do not all sample the same region.

The space is mapped faithfully and define-by-run: floats and ints keep their bounds and log
scale, choices are categorical (over value indices, so any JSON value works), ordinals are
integer positions, bools categorical; a conditional parameter is suggested only when its
condition holds for the values drawn before it, so inactive parameters never appear.

Pure: no I/O, no clock; the sampler's seed is drawn from the ``rng`` of the decision.
"""
from __future__ import annotations

import copy
import datetime
import warnings
from typing import Any, Mapping, Sequence

import numpy as np
import optuna
from optuna.distributions import (BaseDistribution, CategoricalDistribution, FloatDistribution,
                                  IntDistribution)
from optuna.trial import FrozenTrial, TrialState

from orchestrator.searchers.base import Pending
from spaces import Space

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _distribution(param: Any) -> BaseDistribution | None:
    kind = param.kind
    if kind == "float":
        return FloatDistribution(float(param.low), float(param.high), log=bool(param.log))
    if kind == "int":
        return IntDistribution(int(param.low), int(param.high), log=bool(param.log))
    if kind == "choice":
        return CategoricalDistribution(tuple(range(len(param.values))))
    if kind == "ordinal":
        return IntDistribution(0, len(param.values) - 1)
    if kind == "bool":
        return CategoricalDistribution((False, True))
    return None  # constant


class _SharedTrial(FrozenTrial):
    """A trial record the study's storage copies shallowly.

    Why: ``InMemoryStorage`` deep-copies every trial added to a study, and the study is rebuilt
    at every ``suggest``, so those copies were most of a suggestion's cost once a search held a
    few hundred trials (measured by profiling a 256-worker search). The records are never
    changed after they are built (a new result builds a new one), and nothing the sampler does
    writes into the trials it reads, so sharing their dictionaries changes no proposal.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> "_SharedTrial":
        return copy.copy(self)


def _trial(state: TrialState, params: dict[str, Any], dists: dict[str, BaseDistribution],
           value: float | None = None, intermediate_values: dict[int, float] | None = None) -> _SharedTrial:
    """What ``optuna.trial.create_trial`` builds, as a ``_SharedTrial``."""
    now = datetime.datetime.now()
    return _SharedTrial(number=-1, trial_id=-1, state=state, value=value, values=None, datetime_start=now,
                        datetime_complete=now if state.is_finished() else None, params=params,
                        distributions=dists, user_attrs={}, system_attrs={},
                        intermediate_values=intermediate_values or {})


class TPESearcher:
    """Optuna's TPESampler over a private study rebuilt from the trials' best-rung results."""

    def __init__(self, space: Space, mode: str = "min", levels: Sequence[float] = (), *,
                 n_startup_trials: int = 10, n_ei_candidates: int = 24, multivariate: bool = False,
                 constant_liar: bool = True, max_redraws: int = 10) -> None:
        for name, value, low in (("n_startup_trials", n_startup_trials, 0), ("n_ei_candidates", n_ei_candidates, 1),
                                 ("max_redraws", max_redraws, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        for name, value in (("multivariate", multivariate), ("constant_liar", constant_liar)):
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be true or false, got {value!r}")
        self.space = space
        self.sign = 1.0 if mode == "min" else -1.0
        self.levels = tuple(sorted(float(v) for v in levels))
        self._step = {level: i for i, level in enumerate(self.levels)}
        self.n_startup_trials = n_startup_trials
        self.n_ei_candidates = n_ei_candidates
        self.multivariate = multivariate
        self.constant_liar = constant_liar
        self.max_redraws = max_redraws
        self.params = {name: space.params[name] for name in space.names}
        self.order = list(space.encoder.order)
        self.dists = {name: _distribution(p) for name, p in self.params.items()}
        self.configs: dict[int, dict[str, Any]] = {}
        self.results: dict[int, dict[int, float]] = {}  # trial -> {rung step: value (min sense)}
        self.failures: set[int] = set()
        self._tried: set[str] = set()
        self._frozen: dict[int, FrozenTrial] = {}  # cache of the last built record per trial

    # ------------------------------------------------------------------ events
    def register(self, trial: int, config: Mapping[str, Any]) -> None:
        self.configs[trial] = dict(config)
        self._tried.add(self.space.key(config))

    def observe(self, trial: int, config: Mapping[str, Any], resource: float, value: float) -> None:
        step = self._step.get(float(resource))
        if step is None:
            return  # not a rung level: TPE compares trials at rungs only
        if trial not in self.configs:
            self.register(trial, config)
        self.results.setdefault(trial, {})[step] = self.sign * float(value)
        self._frozen.pop(trial, None)

    def failed(self, trial: int) -> None:
        self.failures.add(trial)
        self._frozen.pop(trial, None)

    # ---------------------------------------------------------------- mapping
    def _internal(self, config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, BaseDistribution]]:
        params, dists = {}, {}
        for name, value in config.items():
            p, d = self.params.get(name), self.dists.get(name)
            if p is None or d is None:
                continue
            params[name] = p.values.index(value) if p.kind in ("choice", "ordinal") else value
            dists[name] = d
        return params, dists

    def _record(self, trial: int, running: bool) -> FrozenTrial | None:
        cached = self._frozen.get(trial)
        if cached is not None and cached.state != TrialState.RUNNING:
            return cached
        params, dists = self._internal(self.configs[trial])
        results = self.results.get(trial)
        if trial in self.failures and not results:
            return None
        if results:
            top = max(results)
            if self.levels and top == len(self.levels) - 1:
                frozen = _trial(TrialState.COMPLETE, params, dists, value=results[top])
            else:
                frozen = _trial(TrialState.PRUNED, params, dists, intermediate_values=dict(results))
        elif running:
            frozen = _trial(TrialState.RUNNING, params, dists)
        else:
            return None  # created, never reported and not running (e.g. cancelled): no information
        self._frozen[trial] = frozen
        return frozen

    def _study(self, pending: Sequence[Pending], rng: np.random.Generator) -> optuna.Study:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = optuna.samplers.TPESampler(
                n_startup_trials=self.n_startup_trials, n_ei_candidates=self.n_ei_candidates,
                multivariate=self.multivariate, group=self.multivariate, constant_liar=self.constant_liar,
                seed=int(rng.integers(2**31 - 1)))
        study = optuna.create_study(direction="minimize", sampler=sampler)
        running = {p.trial for p in pending}
        records = [self._record(t, t in running) for t in sorted(self.configs)]
        study.add_trials([r for r in records if r is not None])
        return study

    # ----------------------------------------------------------------- suggest
    def suggest(self, pending: Sequence[Pending], rng: np.random.Generator) -> dict[str, Any] | None:
        study = self._study(list(pending), rng)
        # a registered trial's key is in _tried already; keying the ~workers pending configs again
        # at every suggest was about 7% of its cost at 256 workers
        taken = self._tried | {self.space.key(p.config) for p in pending if p.trial not in self.configs}
        config: dict[str, Any] = {}
        for _ in range(self.max_redraws + 1):
            trial = study.ask()
            config = self._ask(trial)
            if self.space.key(config) not in taken:
                return config
            study.tell(trial, state=TrialState.FAIL)
        for _ in range(self.max_redraws):  # TPE keeps landing on tried configs: fall back to the prior
            config = self.space.sample(rng)
            if self.space.key(config) not in taken:
                return config
        return None

    def _ask(self, trial: optuna.Trial) -> dict[str, Any]:
        """Define-by-run: a parameter is suggested only when its condition holds."""
        out: dict[str, Any] = {}
        for name in self.order:
            p = self.params[name]
            if p.condition is not None and not p.condition.holds(out):
                continue
            if p.kind == "constant":
                out[name] = p.value
                continue
            d = self.dists[name]
            if p.kind == "float":
                out[name] = float(trial.suggest_float(name, d.low, d.high, log=d.log))
            elif p.kind == "int":
                out[name] = int(trial.suggest_int(name, d.low, d.high, log=d.log))
            elif p.kind == "choice":
                out[name] = p.values[trial.suggest_categorical(name, d.choices)]
            elif p.kind == "ordinal":
                out[name] = p.values[trial.suggest_int(name, 0, len(p.values) - 1)]
            else:
                out[name] = bool(trial.suggest_categorical(name, (False, True)))
        return {n: out[n] for n in self.space.names if n in out}
