"""Behaviour of Space: loading rules, configurations, encoding, mutation, keys."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from spaces import Space, SpaceError, library_fragments

OPT_SPACE = {
    "depth": {"type": "int", "low": 1, "high": 4},
    "width": {"type": "int", "low": 16, "high": 256, "log": True},
    "optimizer": {"type": "choice", "values": ["sgd", "adamw"]},
    "lr": {"type": "float", "low": 1.0e-4, "high": 1.0e-1, "log": True},
    "momentum": {"type": "float", "low": 0.5, "high": 0.99, "when": {"optimizer": "sgd"}},
}


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# -- loading --------------------------------------------------------------------------------------


def test_design_example_loads():
    s = Space.from_dict(OPT_SPACE)
    assert s.names == ["depth", "width", "optimizer", "lr", "momentum"]
    assert len(s) == 5 and "lr" in s and list(s) == s.names
    p = s.params["width"]
    assert (p.kind, p.low, p.high, p.log) == ("int", 16, 256, True)
    assert s.params["momentum"].condition.to_spec() == {"optimizer": "sgd"}
    assert s.dim == 1 + 1 + 2 + 1 + 2


def test_bare_scalars_are_constants_and_have_no_dims():
    s = Space.from_dict({"x": 3, "opt": "sgd", "flag": True, "y": {"type": "constant", "value": 0.5},
                         "z": {"type": "bool"}})
    assert [s.params[n].kind for n in ("x", "opt", "flag", "y")] == ["constant"] * 4
    assert s.dim == 1
    c = s.sample(rng())
    assert c["x"] == 3 and c["opt"] == "sgd" and c["flag"] is True and c["y"] == 0.5
    with pytest.raises(SpaceError, match="differs from the constant"):
        s.validate({**c, "x": 4})


def test_groups_flatten_to_dotted_names_in_definition_order():
    s = Space.from_dict({
        "arch": {"depth": {"type": "int", "low": 1, "high": 3}, "block": {"kind": {"type": "choice", "values": ["a", "b"]}}},
        "lr": {"type": "float", "low": 0.1, "high": 1.0},
    })
    assert s.names == ["arch.depth", "arch.block.kind", "lr"]


def test_yaml_1_1_exponent_without_dot_is_read_as_number():
    s = Space.from_dict(yaml.safe_load("lr: {type: float, low: 1e-4, high: 1e-1, log: true}"))
    assert s.params["lr"].low == pytest.approx(1e-4)


def test_parent_resolves_to_sibling_before_absolute_name():
    s = Space.from_dict({
        "opt": {"type": "choice", "values": ["x", "y"]},
        "g": {
            "opt": {"type": "choice", "values": ["sgd", "adam"]},
            "m": {"type": "float", "low": 0, "high": 1, "when": {"opt": "sgd"}},
            "n": {"type": "float", "low": 0, "high": 1, "when": {"other": True}},
            "sub": {"k": {"type": "int", "low": 1, "high": 2, "when": {"opt": "adam"}}},
        },
        "other": {"type": "bool"},
    })
    assert s.params["g.m"].condition.parents == ("g.opt",)
    assert s.params["g.n"].condition.parents == ("other",)
    assert s.params["g.sub.k"].condition.parents == ("g.opt",)  # enclosing group, then root
    with pytest.raises(SpaceError, match="never a value of g.opt"):
        Space.from_dict({
            "opt": {"type": "choice", "values": ["x", "y"]},
            "g": {"opt": {"type": "choice", "values": ["sgd"]}, "m": {"type": "bool", "when": {"opt": "x"}}},
        })
    # an absolute dotted name reaches into another group
    s = Space.from_dict({
        "arch": {"kind": {"type": "choice", "values": ["cnn", "mlp"]}},
        "recipe": {"aug": {"type": "bool", "when": {"arch.kind": "cnn"}}},
    })
    assert s.params["recipe.aug"].condition.parents == ("arch.kind",)


def test_nested_conditions_need_active_parents():
    s = Space.from_dict({
        "a": {"type": "choice", "values": ["x", "y"]},
        "b": {"type": "choice", "values": ["u", "v"], "when": {"a": "x"}},
        "c": {"type": "float", "low": 0, "high": 1, "when": {"b": "u"}},
    })
    assert s.active("c", {"a": "x", "b": "u"})
    assert not s.active("c", {"a": "y", "b": "u"})  # b is inactive, so c is too
    assert not s.active("b", {"a": "y"})
    with pytest.raises(KeyError):
        s.active("nope", {})
    s.validate({"a": "y"})
    with pytest.raises(SpaceError, match="set but inactive"):
        s.validate({"a": "y", "b": "u"})
    with pytest.raises(SpaceError, match="missing"):
        s.validate({"a": "x", "b": "u"})
    for seed in range(50):
        c = s.sample(rng(seed))
        assert ("b" in c) == (c["a"] == "x")
        assert ("c" in c) == (c.get("b") == "u")


def test_group_when_membership_and_and_combination():
    s = Space.from_dict({
        "n": {"type": "int", "low": 1, "high": 4},
        "opt": {"type": "choice", "values": ["sgd", "adam"]},
        "stage": {
            "when": {"n": [3, 4]},
            "w": {"type": "int", "low": 1, "high": 8},
            "m": {"type": "float", "low": 0, "high": 1, "when": {"opt": "sgd"}},
            "both": {"type": "bool", "when": {"n": [2, 3]}},  # intersected with the group's [3, 4]
        },
    })
    assert s.params["stage.w"].condition.to_spec() == {"n": [3, 4]}
    assert s.params["stage.m"].condition.to_spec() == {"n": [3, 4], "opt": "sgd"}
    assert s.params["stage.both"].condition.to_spec() == {"n": 3}
    assert s.active("stage.m", {"n": 4, "opt": "sgd"})
    assert not s.active("stage.m", {"n": 2, "opt": "sgd"})
    assert not s.active("stage.m", {"n": 4, "opt": "adam"})


def test_include_library_fragment_with_narrowing_override():
    s = Space.from_dict({"arch": {"include": "funnel_mlp", "max_units": {"high": 256}, "num_layers": 2},
                         "lr": {"type": "float", "low": 0.001, "high": 0.1, "log": True}})
    assert s.names[0].startswith("arch.")
    mu = s.params["arch.max_units"]
    assert (mu.kind, mu.low, mu.high, mu.log) == ("int", 32, 256, True)
    assert s.params["arch.num_layers"].kind == "constant"  # replaced by a constant
    assert s.names.index("arch.num_layers") == 0  # overrides keep the fragment's position


def test_include_list_and_path_relative_to_base_dir(tmp_path: Path):
    (tmp_path / "frags").mkdir()
    (tmp_path / "frags" / "aug.yaml").write_text(
        "# augmentation\nflip: {type: bool}\ninclude: more.yml\n"
    )
    (tmp_path / "frags" / "more.yml").write_text("crop: {type: int, low: 0, high: 8}\n")
    s = Space.from_dict({"data": {"include": ["frags/aug.yaml", "nb201_cell"]}}, base_dir=tmp_path)
    assert "data.flip" in s and "data.crop" in s and "data.edge_2_3" in s


def test_library_fragments_listed_and_loadable():
    assert library_fragments() == ["funnel_mlp", "lcbench", "macro_cnn", "nb201_cell", "training_recipe"]
    for name in library_fragments():
        text = (Path(__import__("spaces").__file__).parent / "library" / f"{name}.yaml").read_text()
        assert text.startswith("#"), name
        Space.from_dict({"include": name})


def test_lcbench_is_the_yahpo_space():
    s = Space.from_dict({"include": "lcbench"})
    got = {n: (p.kind, p.low, p.high, p.log) for n, p in s.params.items()}
    assert got == {
        "batch_size": ("int", 16, 512, True),
        "learning_rate": ("float", 1e-4, 0.1, True),
        "momentum": ("float", 0.1, 0.99, False),
        "weight_decay": ("float", 1e-5, 0.1, False),
        "num_layers": ("int", 1, 5, False),
        "max_units": ("int", 64, 1024, True),
        "max_dropout": ("float", 0.0, 1.0, False),
    }
    assert all(p.condition is None for p in s.params.values())


def test_nb201_cell_edges():
    s = Space.from_dict({"cell": {"include": "nb201_cell"}})
    assert s.names == [f"cell.edge_{e}" for e in ("0_1", "0_2", "1_2", "0_3", "1_3", "2_3")]
    ops = ("none", "skip_connect", "conv_1x1", "conv_3x3", "avg_pool_3x3")
    assert all(p.values == ops for p in s.params.values())
    assert s.dim == 30


def test_macro_cnn_stages_follow_num_stages():
    s = Space.from_dict({"arch": {"include": "macro_cnn"}})
    assert s.params["arch.normalization"].values == ("batch", "layer", "none")
    for seed in range(40):
        c = s.sample(rng(seed))
        n = c["arch.num_stages"]
        for k in range(1, 5):
            assert (f"arch.stage_{k}.width" in c) == (k <= n)


def test_training_recipe_optimizer_specific_params():
    s = Space.from_dict({"recipe": {"include": "training_recipe"}})
    assert s.params["recipe.batch_size"].kind == "ordinal"
    assert s.params["recipe.lr"].log
    own = {"sgd": {"momentum", "nesterov"}, "adamw": {"beta1", "beta2"}, "rmsprop": {"alpha"}}
    every = set().union(*own.values())
    for seed in range(60):
        c = s.sample(rng(seed))
        present = {n.split(".")[1] for n in c} & every
        assert present == own[c["recipe.optimizer"]]
        assert ("recipe.step_every" in c) == (c["recipe.schedule"] == "step")
    d = s.default_config()
    s.validate(d)
    assert d["recipe.optimizer"] == "adamw" and d["recipe.lr"] == 1e-3


# -- configurations -------------------------------------------------------------------------------


def test_validate_messages_name_the_parameter():
    s = Space.from_dict(OPT_SPACE)
    good = {"depth": 2, "width": 32, "optimizer": "sgd", "lr": 0.01, "momentum": 0.9}
    s.validate(good)

    def msg(config):
        with pytest.raises(SpaceError) as info:
            s.validate(config, source="trial 7")
        assert "\n" not in str(info.value)
        return str(info.value)

    assert msg({**good, "lrr": 1}) == "trial 7: lrr: unknown parameter (did you mean 'lr'?)"
    assert msg({k: v for k, v in good.items() if k != "momentum"}).startswith("trial 7: momentum: missing")
    assert "set but inactive" in msg({**good, "optimizer": "adamw"})
    assert msg({**good, "depth": 7}) == "trial 7: depth: 7 is outside [1, 4]"
    assert "expected an int" in msg({**good, "depth": 2.0})
    assert "expected an int" in msg({**good, "depth": True})
    assert "expected a number" in msg({**good, "lr": "0.1"})
    assert "is not one of" in msg({**good, "optimizer": "adam"})
    assert "mapping" in msg([("depth", 1)])
    assert not s.is_valid({**good, "lr": float("nan")})
    assert Space.from_dict({"x": {"type": "float", "low": 0, "high": 5}}).is_valid({"x": 3})  # ints fit floats


def test_bool_and_int_are_different_values():
    s = Space.from_dict({"c": {"type": "choice", "values": [1, True, "1"]}, "b": {"type": "bool"}})
    assert s.dim == 4
    for v in (1, True, "1"):
        assert s.is_valid({"c": v, "b": False})
    assert not s.is_valid({"c": 1, "b": 1})
    keys = {s.key({"c": v, "b": False}) for v in (1, True, "1")}
    assert len(keys) == 3
    assert s.decode(s.encode({"c": True, "b": False}))["c"] is True


def test_samples_are_json_native_and_seeded():
    s = Space.from_dict({"a": {"include": "macro_cnn"}, "r": {"include": "training_recipe"}})
    c = s.sample(rng(3))
    assert c == s.sample(rng(3))
    assert c != s.sample(rng(4))
    assert all(type(v) in (int, float, str, bool) for v in c.values())
    assert json.loads(json.dumps(c)) == c


def test_log_sampling_is_log_uniform_and_int_ends_reachable():
    s = Space.from_dict({"lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": True},
                         "k": {"type": "int", "low": 1, "high": 3, "log": True},
                         "u": {"type": "int", "low": 0, "high": 2}})
    g = rng(1)
    samples = [s.sample(g) for _ in range(4000)]
    logs = np.log10([c["lr"] for c in samples])
    assert abs(np.median(logs) + 2) < 0.15
    assert {c["k"] for c in samples} == {1, 2, 3}
    assert {c["u"] for c in samples} == {0, 1, 2}


def test_key_is_canonical():
    s = Space.from_dict(OPT_SPACE)
    a = {"depth": 2, "width": 32, "optimizer": "sgd", "lr": 0.1 + 0.2, "momentum": 0.9}
    b = {"momentum": 0.9, "lr": 0.3, "optimizer": "sgd", "width": 32, "depth": 2}
    assert s.key(a) == s.key(b)
    assert s.key({**b, "momentum": 0.9000001}) != s.key(b)
    assert s.key({**b, "lr": 0.3 * (1 + 1e-14)}) == s.key(b)
    f = Space.from_dict({"x": {"type": "float", "low": 0, "high": 5}})
    assert f.key({"x": 3}) == f.key({"x": 3.0})
    assert json.loads(s.key(a))["lr"] == 0.3


# -- encoding -------------------------------------------------------------------------------------


def test_encoding_layout():
    s = Space.from_dict({
        "x": {"type": "float", "low": 0, "high": 10},
        "n": {"type": "int", "low": 1, "high": 100, "log": True},
        "c": {"type": "choice", "values": ["a", "b", "c"]},
        "o": {"type": "ordinal", "values": [1, 2, 4]},
        "b": {"type": "bool"},
        "k": 3,
        "m": {"type": "float", "low": 0, "high": 1, "when": {"c": "a"}},
        "h": {"type": "choice", "values": ["p", "q"], "when": {"c": "a"}},
    })
    assert s.dim == 1 + 1 + 3 + 1 + 1 + 0 + 2 + 3
    assert s.encoder.labels == ["x", "n", "c=a", "c=b", "c=c", "o", "b", "m", "m?", "h=p", "h=q", "h?"]
    on = s.encode({"x": 2.5, "n": 10, "c": "a", "o": 4, "b": True, "k": 3, "m": 0.2, "h": "q"})
    np.testing.assert_allclose(on, [0.25, 0.5, 1, 0, 0, 1.0, 1, 0.2, 1, 0, 1, 1])
    off = s.encode({"x": 0, "n": 1, "c": "b", "o": 1, "b": False, "k": 3})
    np.testing.assert_allclose(off, [0, 0, 0, 1, 0, 0, 0, 0.5, 0, 0, 0, 0])
    assert off.dtype == np.float64 and off.shape == (s.dim,)
    # activity dims are ignored by decode: the parent decides
    v = on.copy()
    v[8] = 0.0
    assert "m" in s.decode(v)
    v = off.copy()
    v[8] = 1.0
    assert "m" not in s.decode(v)


def test_decode_snaps_to_nearest_valid_config():
    s = Space.from_dict(OPT_SPACE)
    c = s.decode(np.full(s.dim, 0.5))
    s.validate(c)
    c = s.decode(np.array([2.0, -1.0, 0.2, 0.9, np.nan, 0.3, 0.0]))
    assert c["depth"] == 4 and c["width"] == 16 and c["optimizer"] == "adamw"
    with pytest.raises(ValueError):
        s.decode(np.zeros(s.dim + 1))
    rows = s.decode_many(np.random.default_rng(0).random((20, s.dim)))
    assert all(s.is_valid(r) for r in rows)


def test_encode_many_is_fast_and_matches_encode():
    s = Space.from_dict({"arch": {"include": "macro_cnn"}, "recipe": {"include": "training_recipe"}})
    g = rng(0)
    configs = [s.sample(g) for _ in range(10_000)]
    t = time.perf_counter()
    X = s.encode_many(configs)
    elapsed = time.perf_counter() - t
    assert X.shape == (10_000, s.dim)
    assert elapsed < 2.0, elapsed
    assert ((X >= 0) & (X <= 1)).all()
    np.testing.assert_array_equal(X[17], s.encode(configs[17]))
    assert s.encode_many([]).shape == (0, s.dim)


def test_encode_rejects_unknown_choice_values():
    s = Space.from_dict(OPT_SPACE)
    with pytest.raises(SpaceError, match="optimizer"):
        s.encode({"depth": 1, "width": 16, "optimizer": "adam", "lr": 0.01})


# -- mutation -------------------------------------------------------------------------------------


def test_mutation_repairs_conditional_children():
    s = Space.from_dict({
        "opt": {"type": "choice", "values": ["sgd", "adam"]},
        "m": {"type": "float", "low": 0.1, "high": 0.9, "when": {"opt": "sgd"}},
    })
    g = rng(0)
    sgd = {"opt": "sgd", "m": 0.5}
    seen_switch = False
    for _ in range(50):
        c = s.mutate(sgd, g)
        s.validate(c)
        assert c != sgd
        if c["opt"] == "adam":
            seen_switch = True
            assert "m" not in c
    assert seen_switch
    c = s.mutate({"opt": "adam"}, g)
    assert c == {"opt": "sgd", "m": c["m"]}


def test_neighbours_are_distinct_where_possible():
    s = Space.from_dict(OPT_SPACE)
    c = s.sample(rng(0))
    ns = s.neighbours(c, rng(1), 20)
    assert len(ns) == 20
    assert len({s.key(n) for n in ns}) == 20
    assert s.key(c) not in {s.key(n) for n in ns}
    tiny = Space.from_dict({"b": {"type": "bool"}, "k": 1})
    ns = tiny.neighbours({"b": True, "k": 1}, rng(0), 3)
    assert ns == [{"b": False, "k": 1}] * 3
    frozen = Space.from_dict({"k": 1})
    assert frozen.neighbours({"k": 1}, rng(0), 2) == [{"k": 1}, {"k": 1}]


def test_numeric_mutation_is_local():
    s = Space.from_dict({"lr": {"type": "float", "low": 1e-5, "high": 1.0, "log": True}})
    g = rng(0)
    steps = [abs(math.log10(s.mutate({"lr": 1e-3}, g)["lr"]) + 3) for _ in range(200)]
    assert np.median(steps) < 0.5 * 5 * 0.3  # ~0.1 of the 5 decades, far less than a resample


def test_mutated_int_always_changes_even_on_tiny_ranges():
    s = Space.from_dict({"n": {"type": "int", "low": 0, "high": 1000}, "o": {"type": "ordinal", "values": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50]}})
    g = rng(0)
    for _ in range(100):
        c = s.mutate({"n": 1000, "o": 50}, g, scale=1e-6)
        assert c != {"n": 1000, "o": 50}
        s.validate(c)


# -- to_dict / fingerprint ------------------------------------------------------------------------


def test_to_dict_is_flat_absolute_and_round_trips():
    s = Space.from_dict({"arch": {"include": "macro_cnn"}, "recipe": {"include": "training_recipe"}, "seed": 3})
    d = s.to_dict()
    assert d["arch.stage_3.width"]["when"] == {"arch.num_stages": [3, 4]}
    assert d["recipe.momentum"]["when"] == {"recipe.optimizer": "sgd"}
    assert d["seed"] == {"type": "constant", "value": 3}
    again = Space.from_dict(yaml.safe_load(yaml.safe_dump(d, sort_keys=False)))
    assert again.names == s.names and again.params == s.params
    assert again.fingerprint() == s.fingerprint()
    c = s.sample(rng(0))
    np.testing.assert_array_equal(again.encode(c), s.encode(c))


def test_fingerprint_tracks_what_is_searched():
    a = Space.from_dict(OPT_SPACE)
    b = Space.from_dict({**OPT_SPACE, "depth": {"type": "int", "low": 1, "high": 5}})
    reordered = Space.from_dict(dict(reversed(list(OPT_SPACE.items()))))
    assert a.fingerprint() == Space.from_dict(OPT_SPACE).fingerprint()
    assert a.fingerprint() != b.fingerprint()
    assert a.fingerprint() != reordered.fingerprint()  # the encoding layout differs
    assert len(a.fingerprint()) == 16 and "fingerprint" in repr(a)


def test_spaces_imports_nothing_else_of_rung():
    import ast
    import sys

    allowed = set(sys.stdlib_module_names) | {"numpy", "yaml"}
    root = Path(__import__("spaces").__file__).parent
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                mods = [node.module or ""]
            else:
                continue
            for mod in mods:
                assert mod.split(".")[0] in allowed, (path.name, mod)


def test_space_docstring_example_runs():
    import doctest

    import spaces.space

    assert doctest.testmod(spaces.space).failed == 0
