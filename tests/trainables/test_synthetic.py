"""MF-Hartmann-3/6 and MF-Branin (Kandasamy et al., BOCA 2017): optimum, bias, noise, cost."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trainables.blackboxes import Blackbox, mf_branin, mf_hartmann3, mf_hartmann6
from trainables.blackboxes.synthetic import BRANIN_ARGMINS, BRANIN_MAXIMUM

FACTORIES = {"mf_hartmann3": mf_hartmann3, "mf_hartmann6": mf_hartmann6, "mf_branin": mf_branin}
LITERATURE_OPTIMUM = {"mf_hartmann3": -3.86278, "mf_hartmann6": -3.32237, "mf_branin": 0.397887}


def _random_configs(bb: Blackbox, n: int, seed: int = 0) -> list[dict[str, float]]:
    rng = np.random.default_rng(seed)
    return [{k: float(rng.uniform(p["low"], p["high"])) for k, p in bb.space.items()}
            for _ in range(n)]


def _argmin_config(bb: Blackbox) -> dict[str, float]:
    return dict(zip(bb.space, bb.argmin))


@pytest.mark.parametrize("name", FACTORIES)
def test_optimum_attained_at_full_fidelity(name: str) -> None:
    bb = FACTORIES[name]()
    value = bb(_argmin_config(bb), bb.resource_max)["value"]
    assert abs(value - LITERATURE_OPTIMUM[name]) < 1e-4
    assert abs(value - bb.optimum) < 1e-4
    assert 0.0 <= bb.normalized_regret(value) < 1e-6


def test_all_branin_minimizers() -> None:
    bb = mf_branin()
    for x1, x2 in BRANIN_ARGMINS:
        assert abs(bb({"x1": x1, "x2": x2}, bb.resource_max)["value"] - 0.397887) < 1e-4


@pytest.mark.parametrize("name", FACTORIES)
def test_protocol_attributes_and_factory_defaults(name: str) -> None:
    bb = FACTORIES[name]()
    assert (bb.name, bb.metric, bb.mode, bb.resource_name) == (name, "value", "min", "epoch")
    assert 1 == bb.resource_min < bb.resource_max
    assert all(p["type"] == "float" and p["low"] < p["high"] for p in bb.space.values())
    out = bb(_random_configs(bb, 1)[0], 3)
    assert set(out) == {"value", "elapsed"} and all(type(v) is float for v in out.values())
    clone = pickle.loads(pickle.dumps(bb))
    cfg = _random_configs(bb, 1, seed=5)[0]
    assert clone(cfg, 7) == bb(cfg, 7)


def test_hartmann_space_is_unit_cube_and_branin_box() -> None:
    assert mf_hartmann6().space == {f"x{i}": {"type": "float", "low": 0.0, "high": 1.0}
                                    for i in range(6)}
    assert mf_branin().space == {"x1": {"type": "float", "low": -5.0, "high": 10.0},
                                 "x2": {"type": "float", "low": 0.0, "high": 15.0}}


@pytest.mark.parametrize("name", FACTORIES)
def test_bias_shrinks_with_fidelity(name: str) -> None:
    bb = FACTORIES[name]()
    configs = _random_configs(bb, 200)
    top = np.array([bb.noiseless(c, bb.resource_max) for c in configs])
    levels = [1, 3, 9, 27, 81]
    bias = [np.mean(np.abs([bb.noiseless(c, r) for c in configs] - top)) for r in levels]
    assert bias[-1] == 0.0
    assert all(a > b for a, b in zip(bias, bias[1:])), bias
    if name.startswith("mf_hartmann"):  # alpha - 0.1 (1 - z): pessimistic, pointwise linear in 1-z
        for c in configs[:20]:
            gaps = [bb.noiseless(c, r) - bb.noiseless(c, bb.resource_max) for r in levels]
            assert all(a > b >= 0 for a, b in zip(gaps, gaps[1:]))


@pytest.mark.parametrize("name", FACTORIES)
def test_regret_nonnegative_without_noise(name: str) -> None:
    bb = FACTORIES[name]()
    for r in (1, 2, 10, 40, bb.resource_max):
        values = [o["value"] for o in bb.evaluate_batch(_random_configs(bb, 300, seed=r), [r] * 300)]
        regrets = [bb.normalized_regret(v) for v in values]
        assert min(regrets) >= 0.0
        assert max(regrets) <= 1.0 + 1e-9


def test_branin_regret_scale_is_its_range() -> None:
    bb = mf_branin()
    g = np.stack(np.meshgrid(np.linspace(-5, 10, 301), np.linspace(0, 15, 301)), -1).reshape(-1, 2)
    values = bb._noiseless(g, np.ones(len(g)))
    assert math.isclose(values.max(), BRANIN_MAXIMUM, rel_tol=1e-9)


@pytest.mark.parametrize("name", FACTORIES)
def test_noise_deterministic_and_fidelity_dependent(name: str) -> None:
    bb = FACTORIES[name](noise=0.5, seed=7)
    configs = _random_configs(bb, 50)
    first = [bb(c, 2)["value"] for c in configs]
    assert first == [FACTORIES[name](noise=0.5, seed=7)(c, 2)["value"] for c in configs]
    assert first == [o["value"] for o in bb.evaluate_batch(configs, [2] * 50)]  # order-free
    assert first == [o["value"] for o in bb.evaluate_batch(configs[::-1], [2] * 50)][::-1]
    other_seed = [FACTORIES[name](noise=0.5, seed=8)(c, 2)["value"] for c in configs]
    assert first != other_seed
    clean = FACTORIES[name]()
    eps_low = np.array([bb(c, 1)["value"] - clean(c, 1)["value"] for c in configs * 4])
    eps_mid = np.array([bb(c, 41)["value"] - clean(c, 41)["value"] for c in configs])
    eps_top = np.array([bb(c, bb.resource_max)["value"] - clean(c, bb.resource_max)["value"]
                        for c in configs])
    assert np.all(eps_top == 0.0)  # noise_floor=0: the full fidelity is exact
    assert np.std(eps_low) > np.std(eps_mid) > 0.0
    assert bb.noise_std(1) > bb.noise_std(41) > bb.noise_std(bb.resource_max) == 0.0


def test_noise_is_roughly_standard_normal() -> None:
    bb, clean = mf_hartmann3(noise=1.0, seed=3, noise_floor=0.0), mf_hartmann3()
    configs = _random_configs(bb, 4000, seed=11)
    eps = np.array([o["value"] for o in bb.evaluate_batch(configs, [1] * 4000)])
    eps -= np.array([o["value"] for o in clean.evaluate_batch(configs, [1] * 4000)])
    eps /= bb.noise_std(1)
    assert abs(eps.mean()) < 0.1 and abs(eps.std() - 1.0) < 0.05


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3), st.integers(1, 80),
       st.integers(1, 80))
def test_elapsed_monotone_and_cost_model(x: list[float], r1: int, r2: int) -> None:
    bb = mf_hartmann3(noise=0.2, seed=1)
    cfg = dict(zip(bb.space, x))
    lo, hi = sorted((r1, r2))
    curve = bb.curve(cfg, range(1, bb.resource_max + 1))
    elapsed = [o["elapsed"] for o in curve]
    assert all(b > a > 0 for a, b in zip(elapsed, elapsed[1:]))
    assert bb(cfg, lo)["elapsed"] <= bb(cfg, hi)["elapsed"]
    unit = elapsed[0]
    assert 1.0 <= unit <= 1.5 and math.isclose(elapsed[-1], unit * bb.resource_max)
    assert curve[lo - 1] == bb(cfg, lo)


@pytest.mark.parametrize("bad", [0, 82, 2.5, "x", None])
def test_bad_resource_rejected(bad: object) -> None:
    with pytest.raises(ValueError):
        mf_hartmann6()(_random_configs(mf_hartmann6(), 1)[0], bad)


def test_bad_config_rejected_with_one_line() -> None:
    bb = mf_branin()
    for cfg in ({"x1": 0.0}, {"x1": 11.0, "x2": 1.0}):
        with pytest.raises(ValueError) as err:
            bb(cfg, 1)
        assert "\n" not in str(err.value)


def test_resource_range_configurable() -> None:
    bb = mf_hartmann6(resource_max=100)
    assert bb.resource_max == 100 and bb.fidelity(100) == 1.0 and bb.fidelity(50) == 0.5
