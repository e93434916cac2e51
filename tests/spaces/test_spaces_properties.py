"""Property tests over randomly generated spaces and over the shipped fragments."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spaces import Space, library_fragments

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SCALARS = st.one_of(
    st.text(alphabet="abxyz_", min_size=1, max_size=4),
    st.integers(-5, 5),
    st.booleans(),
    st.floats(-10, 10, allow_nan=False).map(lambda x: round(x, 3)),
)


def _tag(v):
    return ("b", v) if isinstance(v, bool) else ("n", float(v)) if isinstance(v, (int, float)) else ("s", v)


@st.composite
def param_specs(draw, kind):
    """A parameter spec of ``kind`` and the values a condition on it may use (None: not usable)."""
    if kind == "float":
        if draw(st.booleans()):
            low = draw(st.floats(1e-6, 10))
            spec = {"type": "float", "low": low, "high": low * draw(st.floats(1.01, 1e6)), "log": True}
        else:
            low = draw(st.floats(-100, 100))
            spec = {"type": "float", "low": low, "high": low + draw(st.floats(1e-3, 1e3))}
        return spec, None
    if kind == "int":
        if draw(st.booleans()):
            low = draw(st.integers(1, 50))
            spec = {"type": "int", "low": low, "high": low + draw(st.integers(1, 2000)), "log": True}
        else:
            low = draw(st.integers(-20, 20))
            spec = {"type": "int", "low": low, "high": low + draw(st.integers(1, 6))}
        usable = list(range(spec["low"], spec["high"] + 1)) if spec["high"] - spec["low"] <= 6 else None
        if draw(st.booleans()):
            spec["default"] = spec["low"]
        return spec, usable
    if kind in ("choice", "ordinal"):
        values = draw(st.lists(SCALARS, min_size=1, max_size=5, unique_by=_tag))
        spec = {"type": kind, "values": values}
        if draw(st.booleans()):
            spec["default"] = draw(st.sampled_from(values))
        return spec, values
    if kind == "bool":
        return {"type": "bool"}, [True, False]
    value = draw(SCALARS)
    return (value if draw(st.booleans()) else {"type": "constant", "value": value}), [value]


@st.composite
def random_spaces(draw) -> Space:
    """Random spaces with groups, nested groups, group conditions and condition chains.

    Conditions only point at earlier parameters, so there are no cycles; names carry their index,
    so relative and absolute references cannot be confused.
    """
    n = draw(st.integers(1, 8))
    spec: dict = {}
    usable: list[tuple[str, list]] = []  # (absolute name, values a condition may use)
    referenced_by_g: set[str] = set()
    first_in_g = None
    for i in range(n):
        kind = draw(st.sampled_from(["float", "int", "choice", "ordinal", "bool", "constant"]))
        pspec, values = draw(param_specs(kind))
        group = draw(st.sampled_from([(), ("g",), ("g", "h"), ("k",)]))
        name = f"p{i}"
        if usable and draw(st.booleans()):
            parent, options = draw(st.sampled_from(usable))
            chosen = draw(st.lists(st.sampled_from(options), min_size=1, max_size=len(options), unique_by=_tag))
            if not isinstance(pspec, dict):
                pspec = {"type": "constant", "value": pspec}
            pspec = {**pspec, "when": {parent: chosen if len(chosen) > 1 or draw(st.booleans()) else chosen[0]}}
            if group[:1] == ("g",):
                referenced_by_g.add(parent)
        node = spec
        for part in group:
            node = node.setdefault(part, {})
        node[name] = pspec
        if group[:1] == ("g",) and first_in_g is None:
            first_in_g = i
        if values is not None:
            usable.append((".".join(group + (name,)), values))
    # a condition on group g, on a top-level parameter defined before g's members (no cycles)
    candidates = [
        (p, v) for p, v in usable
        if "." not in p and first_in_g is not None and int(p[1:]) < first_in_g and p not in referenced_by_g
    ]
    if candidates and draw(st.booleans()):
        parent, options = draw(st.sampled_from(candidates))
        spec["g"]["when"] = {parent: draw(st.lists(st.sampled_from(options), min_size=1, unique_by=_tag))}
    return Space.from_dict(spec)


FRAGMENT_SPACES = {name: Space.from_dict({"x": {"include": name}}) for name in library_fragments()}
FRAGMENT_SPACES["joint"] = Space.from_dict(
    {"arch": {"include": "macro_cnn"}, "recipe": {"include": "training_recipe"}, "seed": 0}
)
any_space = st.one_of(random_spaces(), st.sampled_from(list(FRAGMENT_SPACES.values())))
seeds = st.integers(0, 2**32 - 1)


def same_config(space: Space, a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    for name, x in a.items():
        p = space.params[name]
        y = b[name]
        if p.kind == "float":
            if not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12 * (p.high - p.low)):
                return False
        elif _tag(x) != _tag(y):
            return False
    return True


@SETTINGS
@given(any_space, seeds)
def test_samples_validate_and_activity_matches(space, seed):
    c = space.sample(np.random.default_rng(seed))
    space.validate(c)
    for name in space.names:
        assert (name in c) == space.active(name, c)
    assert all(type(v) in (int, float, str, bool) for v in c.values())
    assert list(c) == [n for n in space.names if n in c]


@SETTINGS
@given(any_space, seeds)
def test_seeded_sampling_is_reproducible(space, seed):
    a = [space.sample(np.random.default_rng(seed)) for _ in range(2)]
    assert space.key(a[0]) == space.key(a[1])


@SETTINGS
@given(any_space, seeds)
def test_encode_decode_round_trip(space, seed):
    g = np.random.default_rng(seed)
    configs = [space.sample(g) for _ in range(5)]
    X = space.encode_many(configs)
    assert X.shape == (5, space.dim) and X.dtype == np.float64
    assert ((X >= 0) & (X <= 1)).all()
    for c, x in zip(configs, X):
        np.testing.assert_array_equal(space.encode(c), x)
        back = space.decode(x)
        assert same_config(space, back, c), (c, back)
    for row in space.decode_many(g.random((5, space.dim))):
        space.validate(row)


@SETTINGS
@given(any_space, seeds)
def test_mutations_and_neighbours_are_valid_and_differ(space, seed):
    g = np.random.default_rng(seed)
    c = space.sample(g)
    changeable = any(space.params[n].mutable for n in c)
    m = space.mutate(c, g)
    space.validate(m)
    if changeable:
        assert space.key(m) != space.key(c)
    ns = space.neighbours(c, g, 6)
    assert len(ns) == 6
    for nb in ns:
        space.validate(nb)
        if changeable:
            assert space.key(nb) != space.key(c)
            for name in space.names:
                assert (name in nb) == space.active(name, nb)


@SETTINGS
@given(any_space, seeds)
def test_key_canonical(space, seed):
    g = np.random.default_rng(seed)
    c = space.sample(g)
    reordered = dict(reversed(list(c.items())))
    assert space.key(reordered) == space.key(c)
    assert space.key(json.loads(json.dumps(c))) == space.key(c)
    other = space.sample(g)
    exactly_equal = other.keys() == c.keys() and all(_tag(other[n]) == _tag(c[n]) for n in c)
    assert (space.key(other) == space.key(c)) == exactly_equal


@SETTINGS
@given(any_space)
def test_to_dict_round_trip(space):
    again = Space.from_dict(space.to_dict())
    assert again.names == space.names
    assert again.params == space.params
    assert again.dim == space.dim
    assert again.fingerprint() == space.fingerprint()
    c = space.sample(np.random.default_rng(0))
    np.testing.assert_array_equal(again.encode(c), space.encode(c))


@pytest.mark.parametrize("name", sorted(FRAGMENT_SPACES))
def test_fragment_default_config_is_valid(name):
    space = FRAGMENT_SPACES[name]
    space.validate(space.default_config())
