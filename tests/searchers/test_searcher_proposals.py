"""GP (MOBSTER) and TPE searchers through the `Searcher` protocol: valid configurations of a
conditional joint space, reproducibility for a given rng, pending configurations never
re-proposed, an exhausted space answered with None."""
from __future__ import annotations

import numpy as np
import pytest

from orchestrator.searchers import SEARCHERS, Pending, make_searcher
from spaces import Space

LEVELS = (1, 3, 9, 27)
JOINT = {
    "arch": {"depth": {"type": "int", "low": 1, "high": 6},
             "width": {"type": "int", "low": 16, "high": 256, "log": True}},
    "recipe": {"optimizer": {"type": "choice", "values": ["sgd", "adamw"]},
               "lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
               "momentum": {"type": "float", "low": 0.5, "high": 0.99, "when": {"optimizer": "sgd"}},
               "nesterov": {"type": "bool", "when": {"optimizer": "sgd"}},
               "schedule": {"type": "ordinal", "values": ["none", "step", "cosine"]}},
}
FAST_GP = {"candidates": 100, "local_neighbours": 8, "fantasy_samples": 8, "refit_every": 5}


def objective(config: dict, resource: float) -> float:
    loss = abs(np.log(config["recipe.lr"]) - np.log(3e-3)) + abs(config["arch.depth"] - 3) * 0.2
    if config["recipe.optimizer"] == "sgd":
        loss += (config["recipe.momentum"] - 0.9) ** 2
    return float(loss + 1.0 / resource)


def make(kind: str, space: Space):
    return make_searcher(kind, space, "min", FAST_GP if kind == "gp" else {}, levels=LEVELS)


def feed(searcher, space: Space, n: int, seed: int = 0, pending_every: int = 0) -> list[dict]:
    """n sequential suggest/register/observe rounds (rung levels up to 9)."""
    out = []
    for i in range(n):
        pending = [Pending(10_000, space.sample(np.random.default_rng([seed, 99])), 9)] if pending_every else []
        config = searcher.suggest(pending, np.random.default_rng([seed, i]))
        assert config is not None
        out.append(config)
        searcher.register(i, config)
        for r in (1, 3, 9)[: 1 + i % 3]:
            searcher.observe(i, config, r, objective(config, r))
    return out


def test_gp_and_tpe_are_registered_with_their_options():
    assert {"gp", "tpe"} <= set(SEARCHERS)
    assert {"initial_random", "kernel", "data", "max_points", "refit_every", "fantasize", "threads"} <= SEARCHERS["gp"].options
    assert "constant_liar" in SEARCHERS["tpe"].options


@pytest.mark.parametrize("kind", ["gp", "tpe"])
def test_conditional_parameters_never_appear_when_inactive(kind):
    space = Space.from_dict(JOINT)
    configs = feed(make(kind, space), space, 25, pending_every=1)
    for c in configs:
        space.validate(c)  # raises on an inactive parameter that is present, or an active one missing
        assert ("recipe.momentum" in c) == (c["recipe.optimizer"] == "sgd")
    assert {c["recipe.optimizer"] for c in configs} == {"sgd", "adamw"}


@pytest.mark.parametrize("kind", ["gp", "tpe"])
def test_suggestions_are_reproducible_for_a_given_rng(kind):
    space = Space.from_dict(JOINT)
    a, b = feed(make(kind, space), space, 16, seed=3), feed(make(kind, space), space, 16, seed=3)
    assert [space.key(c) for c in a] == [space.key(c) for c in b]
    c = feed(make(kind, space), space, 16, seed=4)
    assert [space.key(x) for x in a] != [space.key(x) for x in c]


def test_gp_learns_a_smooth_objective_better_than_its_random_warm_up():
    space = Space.from_dict(JOINT)
    searcher = make("gp", space)
    configs = feed(searcher, space, 30)
    warm = [objective(c, 27) for c in configs[:6]]
    later = [objective(c, 27) for c in configs[20:]]
    assert np.median(later) < np.median(warm)
    assert searcher.fitter.fits >= 1


@pytest.mark.parametrize("kind", ["gp", "tpe"])
def test_pending_configs_are_never_reproposed_and_parallel_proposals_are_distinct(kind):
    space = Space.from_dict(JOINT)
    searcher = make(kind, space)
    feed(searcher, space, 12)
    pending: list[Pending] = []
    keys = set()
    for j in range(8):  # eight workers free up while the others are still running
        config = searcher.suggest(pending, np.random.default_rng([7, j]))
        key = space.key(config)
        assert key not in keys
        keys.add(key)
        pending.append(Pending(100 + j, config, 1))
        searcher.register(100 + j, config)


@pytest.mark.parametrize("kind", ["gp", "tpe"])
def test_an_exhausted_space_gets_none_and_tried_configs_are_never_repeated(kind):
    space = Space.from_dict({"a": {"type": "int", "low": 1, "high": 3}, "b": {"type": "choice", "values": ["x", "y"]}})
    searcher = make(kind, space)
    seen = set()
    for i in range(6):
        config = searcher.suggest([], np.random.default_rng([0, i]))
        assert config is not None and space.key(config) not in seen
        seen.add(space.key(config))
        searcher.register(i, config)
        searcher.observe(i, config, 1, float(config["a"]))
    assert searcher.suggest([], np.random.default_rng([0, 6])) is None


def test_gp_data_rungs_ignores_levels_between_rungs_and_all_keeps_them():
    space = Space.from_dict(JOINT)
    config = space.sample(0)
    rungs, every = (make_searcher("gp", space, "min", {"data": d}, levels=LEVELS) for d in ("rungs", "all"))
    for s in (rungs, every):
        s.register(0, config)
        for r in (1, 2, 3):
            s.observe(0, config, r, 1.0 / r)
    assert [row[1] for row in rungs.dataset()] == [1.0, 3.0]
    assert [row[1] for row in every.dataset()] == [1.0, 2.0, 3.0]


def test_gp_mode_max_is_modelled_as_minimization():
    space = Space.from_dict(JOINT)
    s = make_searcher("gp", space, "max", {}, levels=LEVELS)
    s.register(0, space.sample(0))
    s.observe(0, space.sample(0), 3, 0.75)
    assert s.dataset() == [(0, 3.0, -0.75)]


def test_tpe_tells_the_highest_rung_each_trial_reached():
    from optuna.trial import TrialState

    space = Space.from_dict(JOINT)
    s = make("tpe", space)
    config = space.sample(0)
    s.register(0, config)
    s.observe(0, config, 1, 0.5)
    s.observe(0, config, 3, 0.4)
    first = s._record(0, running=False)
    assert first.state == TrialState.PRUNED and first.intermediate_values == {0: 0.5, 1: 0.4}
    s.observe(0, config, 27, 0.3)  # promoted to the top rung later
    top = s._record(0, running=False)
    assert top.state == TrialState.COMPLETE and top.value == 0.3


def test_tpe_proposals_are_those_of_deep_copied_trial_records(monkeypatch):
    """The rebuilt study shares the searcher's trial records instead of deep-copying them (the
    copies were most of a suggestion's cost at 256 workers): not one proposal may change, with
    complete, pruned and running (constant liar) trials in the study."""
    from orchestrator.searchers import tpe

    space = Space.from_dict(JOINT)

    def proposals() -> list[dict]:
        s = make("tpe", space)
        out = []
        for i in range(40):
            running = [Pending(t, s.configs[t], 27) for t in range(max(0, i - 6), i) if t % 5 == 4 or t % 2]
            config = s.suggest(running, np.random.default_rng([0, i]))
            out.append(config)
            s.register(i, config)
            if i % 5 != 4:  # every fifth trial stays without a result: a RUNNING record
                for r in LEVELS[: 1 + i % 4]:  # some reach the top rung (COMPLETE), the rest PRUNED
                    s.observe(i, config, r, objective(config, r))
        return out

    shared = proposals()
    monkeypatch.delattr(tpe._SharedTrial, "__deepcopy__")  # Optuna's storage deep-copies again
    assert proposals() == shared
    assert len({space.key(c) for c in shared}) == 40


@pytest.mark.parametrize("options", [{"kernel": "rbf"}, {"data": "some"}, {"initial_random": 0}, {"fantasize": "yes"},
                                     {"refit_growth": -0.1}, {"refit_growth": "fast"}, {"refit_growth": True}])
def test_gp_rejects_bad_options(options):
    with pytest.raises(ValueError):
        make_searcher("gp", Space.from_dict(JOINT), "min", options, levels=LEVELS)
