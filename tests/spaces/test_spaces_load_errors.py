"""Every load-time mistake gives one line naming the file, the full key path and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from spaces import Space, SpaceError

SRC = "exp.yaml"


def load_error(data, base_dir: Path | None = None) -> SpaceError:
    with pytest.raises(SpaceError) as info:
        Space.from_dict(data, source=SRC, key="space", base_dir=base_dir)
    err = info.value
    text = str(err)
    assert "\n" not in text
    assert text.startswith(f"{SRC}: ")
    assert "Traceback" not in text
    assert isinstance(err, ValueError)
    return err


def check(err: SpaceError, key: str, *words: str) -> None:
    text = str(err)
    assert err.key == key, text
    assert text.startswith(f"{SRC}: {key}: "), text
    for word in words:
        assert word in text, (word, text)


def test_not_a_mapping():
    check(load_error([1, 2]), "space", "mapping", "list")
    check(load_error(None), "space", "mapping", "null")


def test_unknown_type_suggests():
    err = load_error({"arch": {"depth": {"type": "itn", "low": 1, "high": 3}}})
    check(err, "space.arch.depth.type", "unknown type 'itn'", "did you mean 'int'")


def test_missing_low_high_values():
    check(load_error({"lr": {"type": "float", "high": 1.0}}), "space.lr", "missing 'low'")
    check(load_error({"lr": {"type": "float", "low": 1.0}}), "space.lr", "missing 'high'")
    check(load_error({"opt": {"type": "choice"}}), "space.opt", "missing 'values'")


def test_low_not_below_high_names_values():
    check(load_error({"d": {"type": "int", "low": 5, "high": 2}}), "space.d", "low (5)", "high (2)")
    check(load_error({"x": {"type": "float", "low": 1.0, "high": 1.0}}), "space.x", "1.0", "below")


def test_log_needs_positive_low():
    err = load_error({"lr": {"type": "float", "low": 0.0, "high": 1.0, "log": True}})
    check(err, "space.lr.low", "log", "low > 0", "low=0.0")


def test_non_numeric_bounds():
    check(load_error({"x": {"type": "float", "low": "abc", "high": 1.0}}), "space.x.low", "number", "'abc'")
    check(load_error({"x": {"type": "float", "low": 0.0, "high": True}}), "space.x.high", "number")


def test_int_bounds_must_be_integers():
    check(load_error({"d": {"type": "int", "low": 1.5, "high": 4}}), "space.d.low", "integers", "1.5")


def test_empty_and_duplicate_values():
    check(load_error({"opt": {"type": "choice", "values": []}}), "space.opt.values", "empty")
    check(load_error({"opt": {"type": "ordinal", "values": [1, 2, 2.0]}}), "space.opt.values", "duplicate", "2")
    check(load_error({"opt": {"type": "choice", "values": "sgd"}}), "space.opt.values", "list")
    check(load_error({"opt": {"type": "choice", "values": [1, [2]]}}), "space.opt.values.1", "string, number or bool")


def test_bad_when_shape():
    base = {"opt": {"type": "choice", "values": ["sgd", "adam"]}}
    err = load_error({**base, "m": {"type": "float", "low": 0, "high": 1, "when": ["opt", "sgd"]}})
    check(err, "space.m.when", "when must be a mapping")
    err = load_error({**base, "m": {"type": "float", "low": 0, "high": 1, "when": {}}})
    check(err, "space.m.when", "empty")
    err = load_error({**base, "m": {"type": "float", "low": 0, "high": 1, "when": {"opt": {"a": 1}}}})
    check(err, "space.m.when.opt", "strings, numbers or bools")


def test_unknown_parent_lists_nearby_names():
    space = {
        "recipe": {
            "optimizer": {"type": "choice", "values": ["sgd", "adamw"]},
            "momentum": {"type": "float", "low": 0.1, "high": 0.9, "when": {"optimiser": "sgd"}},
        }
    }
    err = load_error(space)
    check(err, "space.recipe.momentum.when.optimiser", "unknown parent 'optimiser'",
          "did you mean 'recipe.optimizer'", "names nearby", "recipe.optimizer")


def test_condition_value_parent_never_takes():
    space = {
        "opt": {"type": "choice", "values": ["sgd", "adamw"]},
        "m": {"type": "float", "low": 0.1, "high": 0.9, "when": {"opt": ["sgd", "adam"]}},
    }
    check(load_error(space), "space.m.when.opt", "'adam'", "never a value of opt", "'sgd', 'adamw'")
    space = {"n": {"type": "int", "low": 1, "high": 4}, "w": {"type": "int", "low": 1, "high": 4, "when": {"n": 5}}}
    check(load_error(space), "space.w.when.n", "5", "never a value of n", "[1, 4]")
    space = {"b": {"type": "bool"}, "w": {"type": "int", "low": 1, "high": 4, "when": {"b": 1}}}
    check(load_error(space), "space.w.when.b", "never a value of b")


def test_condition_cycle_is_named():
    space = {
        "a": {"type": "bool", "when": {"c": True}},
        "b": {"type": "bool", "when": {"a": True}},
        "c": {"type": "bool", "when": {"b": True}},
    }
    err = load_error(space)
    check(err, "space.a.when", "condition cycle", "a -> c -> b -> a")
    check(load_error({"a": {"type": "bool", "when": {"a": True}}}), "space.a.when", "a -> a")


def test_unknown_parameter_key_suggests():
    err = load_error({"d": {"type": "int", "low": 1, "hgih": 4}})
    check(err, "space.d.hgih", "unknown key 'hgih'", "did you mean 'high'", "allowed:")
    err = load_error({"b": {"type": "bool", "values": [True]}})
    check(err, "space.b.values", "unknown key 'values' for a bool parameter")


def test_bad_include(tmp_path: Path):
    check(load_error({"arch": {"include": 3}}), "space.arch.include", "fragment name or a list")
    err = load_error({"arch": {"include": "funel_mlp"}})
    check(err, "space.arch.include", "unknown fragment 'funel_mlp'", "did you mean 'funnel_mlp'",
          "available:", "lcbench", "macro_cnn", "nb201_cell", "training_recipe")
    err = load_error({"arch": {"include": "nope.yaml"}}, base_dir=tmp_path)
    check(err, "space.arch.include", "not found", str(tmp_path / "nope.yaml"))
    (tmp_path / "bad.yaml").write_text("a: [1, 2\n")
    check(load_error({"include": "bad.yaml"}, base_dir=tmp_path), "space.include", "cannot parse")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    check(load_error({"include": "list.yaml"}, base_dir=tmp_path), "space.include", "must be a mapping")


def test_include_cycle(tmp_path: Path):
    (tmp_path / "a.yaml").write_text("x: {type: bool}\ninner: {include: b.yaml}\n")
    (tmp_path / "b.yaml").write_text("y: {type: bool}\ninclude: a.yaml\n")
    err = load_error({"include": "a.yaml"}, base_dir=tmp_path)
    check(err, "space.include", "include cycle: a.yaml -> b.yaml -> a.yaml", "b.yaml")


def test_error_inside_included_file_points_at_the_include(tmp_path: Path):
    (tmp_path / "outer.yaml").write_text("arch: {include: inner.yaml}\n")
    (tmp_path / "inner.yaml").write_text("include: missing_fragment\n")
    err = load_error({"include": "outer.yaml"}, base_dir=tmp_path)
    check(err, "space.include", "outer.yaml", "inner.yaml", "unknown fragment 'missing_fragment'")


def test_empty_space_and_empty_group():
    check(load_error({}), "space", "empty")
    check(load_error({"x": 1, "arch": {}}), "space.arch", "empty group")


def test_default_validated():
    check(load_error({"d": {"type": "int", "low": 1, "high": 4, "default": 9}}), "space.d.default", "default", "9", "[1, 4]")
    check(load_error({"o": {"type": "choice", "values": ["a"], "default": "b"}}), "space.o.default", "'b'", "not one of")
    check(load_error({"b": {"type": "bool", "default": "yes"}}), "space.b.default", "true or false")


def test_bad_names():
    check(load_error({"arch": {"a.b": {"type": "bool"}}}), "space.arch.a.b", "must not contain '.'")
    check(load_error({"my param": {"type": "bool"}}), "space.my param", "whitespace")
    check(load_error({"arch.x": {"depth": 1}}), "space.arch.x", "must not contain '.'")
    check(load_error({"a..b": {"type": "bool"}}), "space.a..b", "empty name")
    check(load_error({3: {"type": "bool"}}), "space.3", "names must be strings")


def test_structure_mistakes():
    check(load_error({"lr": {"low": 0.1, "high": 1.0}}), "space.lr", "missing 'type'")
    check(load_error({"opt": ["sgd", "adam"]}), "space.opt", "list is not a parameter", "type: choice")
    check(load_error({"opt": None}), "space.opt", "no value")
    check(load_error({"x": {"type": "constant"}}), "space.x", "missing 'value'")
    check(load_error({"arch": {"d": 1}, "arch.d": 2}), "space.arch.d", "duplicate")
    check(load_error({"when": {"x": 1}, "x": 1}), "space.when", "top level")


def test_group_and_param_conditions_that_never_agree():
    space = {
        "opt": {"type": "choice", "values": ["sgd", "adamw"]},
        "g": {"when": {"opt": "sgd"}, "m": {"type": "float", "low": 0, "high": 1, "when": {"opt": "adamw"}}},
    }
    check(load_error(space), "space.g.m.when.opt", "never hold together")


def test_key_prefix_and_empty_key():
    with pytest.raises(SpaceError) as info:
        Space.from_dict({"d": {"type": "int", "low": 2, "high": 1}}, source="e.yaml", key="")
    assert str(info.value).startswith("e.yaml: d: ")
    with pytest.raises(SpaceError) as info:
        Space.from_dict({"d": {"type": "int", "low": 2, "high": 1}}, source="e.yaml", key="experiments.0.space")
    assert str(info.value).startswith("e.yaml: experiments.0.space.d: ")


def test_space_error_survives_pickling():
    import pickle

    err = SpaceError("exp.yaml", "space.lr", "low (1.0) must be below high (0.5)")
    back = pickle.loads(pickle.dumps(err))
    assert str(back) == str(err) == "exp.yaml: space.lr: low (1.0) must be below high (0.5)"
    assert (back.source, back.key, back.problem) == (err.source, err.key, err.problem)
