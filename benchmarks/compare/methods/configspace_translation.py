"""rung's flat space <-> ConfigSpace, and the bookkeeping both ConfigSpace peers (DEHB, SMAC) share.

Why one module: DEHB and SMAC3 both search a ``ConfigSpace.ConfigurationSpace``, both run at
fidelities that must be mapped onto the harness's ladder, and both re-evaluate a configuration at
a higher fidelity, which a checkpoint-aware runner continues instead of retraining. It needs only
ConfigSpace and the standard library, so each peer's env imports it by path (it sits beside the
peer scripts), as it imports ``protocol.py``; it must not import rung.

Translation (``translate``): float/int -> ``UniformFloat``/``UniformInteger`` with ``log``;
choice and bool -> ``Categorical``; ordinal -> ``Ordinal``; constant -> ``Constant``; ``when`` ->
``EqualsCondition`` (one value) / ``InCondition`` (several), joined by ``AndConjunction`` when a
parameter has several parents; a given ``default`` is passed on. Categorical, ordinal and constant
values are stored as their JSON text, so mixed types, ``True`` vs ``1`` and list values survive
ConfigSpace's hashing and typing; a searcher only sees a choice's index, so this changes nothing
it searches. ``echo`` reads the space back from the ConfigSpace objects (not from the input) for
the harness to compare with its own; ``decode`` turns a ConfigSpace configuration back into rung
values.
"""
from __future__ import annotations

import json
import math
from typing import Any, Iterable, Mapping

from ConfigSpace import (
    AndConjunction,
    CategoricalHyperparameter,
    ConfigurationSpace,
    Constant,
    EqualsCondition,
    InCondition,
    OrdinalHyperparameter,
    UniformFloatHyperparameter,
    UniformIntegerHyperparameter,
)

TOKENIZED = (CategoricalHyperparameter, OrdinalHyperparameter, Constant)


def _token(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _order(space: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Parameters with their `when` parents first (rung checked the spec is acyclic)."""
    done: list[str] = []
    todo = list(space)
    while todo:
        for name in list(todo):
            if all(p in done for p in (space[name].get("when") or {})):
                done.append(name)
                todo.remove(name)
    return done


def translate(space: Mapping[str, Mapping[str, Any]], seed: int) -> ConfigurationSpace:
    """rung's flat resolved space -> a ConfigurationSpace (see the module docstring)."""
    cs = ConfigurationSpace(seed=seed)
    for name in _order(space):
        spec = space[name]
        kind = spec.get("type", "float")
        default = spec.get("default")
        kw: dict[str, Any] = {}
        if default is not None and kind in ("float", "int"):
            kw["default_value"] = default
        elif default is not None and kind in ("choice", "ordinal", "bool"):
            kw["default_value"] = _token(default)
        if kind == "float":
            hp: Any = UniformFloatHyperparameter(name, float(spec["low"]), float(spec["high"]),
                                                 log=bool(spec.get("log", False)), **kw)
        elif kind == "int":
            hp = UniformIntegerHyperparameter(name, int(spec["low"]), int(spec["high"]),
                                              log=bool(spec.get("log", False)), **kw)
        elif kind == "choice":
            hp = CategoricalHyperparameter(name, [_token(v) for v in spec["values"]], **kw)
        elif kind == "ordinal":
            hp = OrdinalHyperparameter(name, [_token(v) for v in spec["values"]], **kw)
        elif kind == "bool":
            hp = CategoricalHyperparameter(name, [_token(False), _token(True)], **kw)
        elif kind == "constant":
            hp = Constant(name, _token(spec["value"]))
        else:
            raise ValueError(f"cannot translate parameter {name!r} of type {kind!r} to ConfigSpace")
        cs.add(hp)
    for name in _order(space):
        clauses = []
        for parent, allowed in (space[name].get("when") or {}).items():
            php = cs[parent]
            values = allowed if isinstance(allowed, list) else [allowed]
            values = [_token(v) for v in values] if isinstance(php, TOKENIZED) else list(values)
            clauses.append(EqualsCondition(cs[name], php, values[0]) if len(values) == 1
                           else InCondition(cs[name], php, values))
        if len(clauses) == 1:
            cs.add(clauses[0])
        elif clauses:
            cs.add(AndConjunction(*clauses))
    return cs


def _decode_value(hp: Any, value: Any) -> Any:
    if isinstance(hp, TOKENIZED):
        return json.loads(value)
    if isinstance(hp, UniformIntegerHyperparameter):
        return int(value)
    # Floats are clipped to their bounds: a log-scale round trip can land a hair outside them.
    return min(max(float(value), float(hp.lower)), float(hp.upper))


def decode(cs: ConfigurationSpace, configuration: Any, names: Iterable[str]) -> dict[str, Any]:
    """A ConfigSpace configuration as rung values, in ``names`` order (inactive ones absent)."""
    values = dict(configuration)
    return {n: _decode_value(cs[n], values[n]) for n in names if n in values}


def echo(cs: ConfigurationSpace, names: Iterable[str]) -> dict[str, Any]:
    """The space as the peer will search it, read back from the ConfigSpace objects."""
    out: dict[str, Any] = {}
    for name in names:
        hp = cs[name]
        if isinstance(hp, UniformFloatHyperparameter):
            entry: dict[str, Any] = {"type": "float", "low": float(hp.lower), "high": float(hp.upper),
                                     "log": bool(hp.log)}
        elif isinstance(hp, UniformIntegerHyperparameter):
            entry = {"type": "int", "low": int(hp.lower), "high": int(hp.upper), "log": bool(hp.log)}
        elif isinstance(hp, CategoricalHyperparameter):
            entry = {"type": "choice", "values": [json.loads(c) for c in hp.choices]}
        elif isinstance(hp, OrdinalHyperparameter):
            entry = {"type": "ordinal", "values": [json.loads(c) for c in hp.sequence]}
        elif isinstance(hp, Constant):
            entry = {"type": "constant", "value": json.loads(hp.value)}
        else:
            raise ValueError(f"parameter {name!r}: unexpected ConfigSpace hyperparameter {hp!r}")
        when: dict[str, Any] = {}
        for cond in cs.parent_conditions_of[name]:
            for c in (cond.components if isinstance(cond, AndConjunction) else [cond]):
                if isinstance(c, EqualsCondition):
                    vals = [c.value]
                elif isinstance(c, InCondition):
                    vals = list(c.values)
                else:
                    raise ValueError(f"parameter {name!r}: unexpected condition {c!r}")
                decoded = [_decode_value(c.parent, v) if isinstance(c.parent, TOKENIZED) else v for v in vals]
                when[c.parent.name] = decoded[0] if len(decoded) == 1 else decoded
        if when:
            entry["when"] = when
        out[name] = entry
    return out


def ladder_map(fidelities: Iterable[float], levels: list[int], peer: str) -> dict[float, int]:
    """Each of a peer's fidelities -> the nearest ladder level in log scale (ties go to the higher
    level); refuses a mapping that is not one-to-one, since two rungs would then run alike."""
    out = {float(f): min(levels, key=lambda lv: (abs(math.log(lv / float(f))), -lv)) for f in fidelities}
    if len(set(out.values())) != len(out):
        raise ValueError(f"{peer} fidelities {sorted(out)} do not map one-to-one onto the ladder {levels}")
    return out


class TrialReuse:
    """Trial ids for a peer that re-evaluates configurations at higher fidelities.

    A job for a configuration already trained to a lower level, and not running now, continues
    that trial (the most trained copy; the oldest among equals), so the harness charges only the
    extra training, as a checkpoint-aware runner would; any other job is a new trial.
    """

    def __init__(self) -> None:
        self.level: dict[int, int] = {}  # trial -> level it has been trained to (0: not yet)
        self.by_config: dict[str, list[int]] = {}  # canonical config JSON -> its trial ids
        self.reused = 0

    def assign(self, config: Mapping[str, Any], level: int, running: Iterable[int]) -> int:
        key = json.dumps(config, sort_keys=True)
        busy = set(running)
        resumable = [t for t in self.by_config.get(key, []) if t not in busy and 0 < self.level[t] < level]
        if resumable:
            self.reused += 1
            return max(resumable, key=lambda t: (self.level[t], -t))
        trial = len(self.level)
        self.level[trial] = 0
        self.by_config.setdefault(key, []).append(trial)
        return trial

    def trained(self, trial: int, level: int) -> int:
        """Record a finished job; returns the levels it trained (its cost)."""
        cost = int(level) - self.level[trial]
        self.level[trial] = int(level)
        return cost
