"""One search-space parameter: its spec, what values it admits, and how to draw one.

A :class:`Param` is plain data (frozen) so searchers can read ``low``/``high``/``values`` directly;
the behaviour that depends on the kind lives in small methods here, except the [0, 1] encoding,
which belongs to :mod:`spaces.encoding`. ``parse_param`` turns one YAML spec into a Param and is
where every per-parameter load-time check happens, so the loader stays about structure only.

Values are compared by *typed identity* (:func:`tag`): ``1`` and ``1.0`` are the same value, but
``true`` and ``1`` are not. YAML writers mix these up easily, and a searcher must never treat a
boolean choice and an integer choice as interchangeable.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import Where, did_you_mean, show

if TYPE_CHECKING:
    from .conditions import Condition

__all__ = ["KINDS", "Param", "parse_param", "tag", "native"]

KINDS = ("float", "int", "choice", "ordinal", "bool", "constant")
_KIND_KEYS = {
    "float": ("low", "high", "log"),
    "int": ("low", "high", "log"),
    "choice": ("values",),
    "ordinal": ("values",),
    "bool": (),
    "constant": ("value",),
}
_COMMON_KEYS = ("type", "default", "when")
_NUMBER_TEXT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def tag(value: Any) -> tuple[str, Any]:
    """Typed identity of a scalar: numbers compare by value, bools and strings only to their kind.

    Raises TypeError for anything that is not a str, bool or real number.
    """
    if isinstance(value, (bool, np.bool_)):
        return ("b", bool(value))
    if isinstance(value, numbers.Real):
        return ("n", float(value))
    if isinstance(value, str):
        return ("s", value)
    raise TypeError(f"not a scalar: {value!r}")


def native(value: Any) -> Any:
    """The JSON-native Python form of a scalar (numpy scalars become int/float/bool)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value


def _is_scalar(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_, str)):
        return True
    return isinstance(value, numbers.Real) and math.isfinite(float(value))


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


@dataclass(frozen=True)
class Param:
    """A parameter of a space.

    ``kind`` is one of float, int, choice, ordinal, bool, constant. Only the fields of that kind are
    set: ``low``/``high``/``log`` for numbers, ``values`` for choice and ordinal, ``value`` for a
    constant. ``default`` is None when the spec gave none. ``condition`` is None for a parameter
    that is always active.
    """

    name: str
    kind: str
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    values: tuple[Any, ...] | None = None
    value: Any = None
    default: Any = None
    condition: Condition | None = None

    @property
    def conditional(self) -> bool:
        return self.condition is not None

    @property
    def mutable(self) -> bool:
        """Whether a mutation can change this parameter's value (it has more than one value)."""
        if self.kind == "constant":
            return False
        if self.kind in ("choice", "ordinal"):
            return len(self.values or ()) > 1
        return True

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not a value of this parameter, or None when it is one."""
        kind = self.kind
        if kind in ("float", "int"):
            if kind == "int" and not (isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))):
                return f"expected an int, got {_type_name(value)} {show(native(value))}"
            if kind == "float" and not _is_number(value):
                return f"expected a number, got {_type_name(value)} {show(native(value))}"
            if not math.isfinite(float(value)):
                return f"{show(native(value))} is not a finite number"
            if not self.low <= value <= self.high:
                return f"{show(native(value))} is outside [{show(self.low)}, {show(self.high)}]"
            return None
        if kind in ("choice", "ordinal"):
            if self._index_or_none(value) is None:
                return f"{show(native(value)) if _is_scalar(value) else repr(value)} is not one of {show(list(self.values))}"
            return None
        if kind == "bool":
            if not isinstance(value, (bool, np.bool_)):
                return f"expected true or false, got {_type_name(value)} {show(native(value))}"
            return None
        if not _same(value, self.value):
            return f"{show(native(value))} differs from the constant {show(self.value)}"
        return None

    def index(self, value: Any) -> int:
        """Position of ``value`` in ``values`` (choice and ordinal); ValueError if absent."""
        i = self._index_or_none(value)
        if i is None:
            raise ValueError(f"{self.name}: {value!r} is not one of {list(self.values or ())}")
        return i

    def _index_or_none(self, value: Any) -> int | None:
        try:
            return self._lookup.get(tag(value))
        except TypeError:
            return None

    @property
    def _lookup(self) -> dict[tuple[str, Any], int]:
        cached = self.__dict__.get("_lookup_cache")
        if cached is None:
            cached = {tag(v): i for i, v in enumerate(self.values or ())}
            object.__setattr__(self, "_lookup_cache", cached)
        return cached

    def canonical(self, value: Any) -> Any:
        """The JSON-native form of a valid value (choices map back to the spelling in ``values``)."""
        if self.kind == "float":
            return float(value)
        if self.kind == "int":
            return int(value)
        if self.kind == "bool":
            return bool(value)
        if self.kind in ("choice", "ordinal"):
            return self.values[self.index(value)]
        return self.value

    def possible(self, value: Any) -> bool:
        """Whether this parameter can ever take ``value`` (used to check ``when`` conditions).

        Numbers match by value, so ``when: {depth: 2}`` is fine for an int parameter in [1, 4].
        """
        if self.kind == "float":
            return _is_number(value) and self.low <= value <= self.high
        if self.kind == "int":
            return _is_number(value) and float(value).is_integer() and self.low <= value <= self.high
        return self.problem(value) is None

    def sample(self, rng: np.random.Generator) -> Any:
        """One value from the prior: uniform, or log-uniform where ``log`` is set."""
        kind = self.kind
        if kind == "float":
            if self.log:
                x = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
            else:
                x = rng.uniform(self.low, self.high)
            return float(min(max(x, self.low), self.high))
        if kind == "int":
            if self.log:
                # log-uniform over the rounding cells [low - 0.5, high + 0.5] so the end points get
                # their fair share; low >= 1 holds for log ints, so the logarithm is defined.
                x = math.exp(rng.uniform(math.log(self.low - 0.5), math.log(self.high + 0.5)))
                return int(min(max(round(x), self.low), self.high))
            return int(rng.integers(self.low, self.high + 1))
        if kind in ("choice", "ordinal"):
            return self.values[int(rng.integers(len(self.values)))]
        if kind == "bool":
            return bool(rng.integers(2))
        return self.value

    def default_value(self) -> Any:
        """``default`` if given, else the centre of the prior (geometric mean for log ranges)."""
        if self.default is not None:
            return self.default
        kind = self.kind
        if kind in ("float", "int"):
            if self.log:
                x = math.sqrt(self.low * self.high)
            else:
                x = (self.low + self.high) / 2
            return float(x) if kind == "float" else int(min(max(round(x), self.low), self.high))
        if kind == "choice":
            return self.values[0]
        if kind == "ordinal":
            return self.values[(len(self.values) - 1) // 2]
        if kind == "bool":
            return False
        return self.value

    def domain(self) -> str:
        """Short human description of the admissible values, for error messages."""
        if self.kind in ("float", "int"):
            return f"{self.kind} in [{show(self.low)}, {show(self.high)}]"
        if self.kind in ("choice", "ordinal"):
            return f"values {show(list(self.values))}"
        if self.kind == "bool":
            return "true or false"
        return f"the constant {show(self.value)}"

    def to_spec(self) -> dict[str, Any]:
        """The fully explicit YAML spec of this parameter (``when`` with absolute parent names)."""
        spec: dict[str, Any] = {"type": self.kind}
        if self.kind in ("float", "int"):
            spec.update(low=self.low, high=self.high, log=self.log)
        elif self.kind in ("choice", "ordinal"):
            spec["values"] = list(self.values)
        elif self.kind == "constant":
            spec["value"] = self.value
        if self.default is not None and self.kind != "constant":
            spec["default"] = self.default
        if self.condition is not None:
            spec["when"] = self.condition.to_spec()
        return spec


def _same(a: Any, b: Any) -> bool:
    try:
        return tag(a) == tag(b)
    except TypeError:
        return False


def _type_name(value: Any) -> str:
    value = native(value)
    return {bool: "bool", int: "int", float: "float", str: "string", list: "list", dict: "mapping"}.get(
        type(value), type(value).__name__
    )


def parse_param(name: str, spec: Any, where: Where) -> Param:
    """Check one parameter spec (a mapping with ``type``, or a bare scalar constant) and build it.

    ``when`` is not interpreted here: conditions need the whole space, see :mod:`spaces.conditions`.
    """
    if not isinstance(spec, Mapping):
        return Param(name=name, kind="constant", value=_scalar(spec, where, "a constant"))
    kind = spec.get("type")
    if not isinstance(kind, str) or kind not in KINDS:
        raise where.at("type").error(
            f"unknown type {show(kind)}{did_you_mean(kind, KINDS)}; expected one of {', '.join(KINDS)}"
        )
    allowed = _COMMON_KEYS + _KIND_KEYS[kind]
    for key in spec:
        if key not in allowed:
            raise where.at(key).error(
                f"unknown key {show(key)} for {'an' if kind == 'int' else 'a'} {kind} parameter"
                f"{did_you_mean(key, allowed)}; "
                f"allowed: {', '.join(sorted(allowed))}"
            )
    fields: dict[str, Any] = {}
    if kind in ("float", "int"):
        fields.update(_bounds(spec, kind, where))
    elif kind in ("choice", "ordinal"):
        fields["values"] = _values(spec, where)
    elif kind == "constant":
        if "value" not in spec:
            raise where.error("missing 'value' for a constant parameter")
        fields["value"] = _scalar(spec["value"], where.at("value"), "a constant")
    param = Param(name=name, kind=kind, **fields)
    if spec.get("default") is not None:
        default = spec["default"]
        problem = param.problem(default)
        if problem is not None:
            raise where.at("default").error(f"bad default: {problem}")
        param = replace(param, default=param.canonical(default))
    return param


def _scalar(value: Any, where: Where, what: str) -> Any:
    if not _is_scalar(value):
        raise where.error(
            f"{what} must be a string, number or bool, got {_type_name(value)} "
            f"{show(value) if not isinstance(value, Mapping) else '{...}'}"
        )
    return native(value)


def _number(spec: Mapping, key: str, where: Where) -> float | int:
    if key not in spec or spec[key] is None:
        raise where.error(f"missing {key!r}")
    value = spec[key]
    if isinstance(value, str) and _NUMBER_TEXT.match(value.strip()):
        value = float(value)  # YAML 1.1 reads 1e-4 (no dot) as a string; accept what was meant
    if not _is_number(value) or not math.isfinite(float(value)):
        raise where.at(key).error(f"{key} must be a finite number, got {show(native(value))}")
    return native(value)


def _bounds(spec: Mapping, kind: str, where: Where) -> dict[str, Any]:
    low, high = _number(spec, "low", where), _number(spec, "high", where)
    if kind == "int":
        for key, value in (("low", low), ("high", high)):
            if not float(value).is_integer():
                raise where.at(key).error(f"int bounds must be integers, got {key}={show(value)}")
        low, high = int(low), int(high)
    else:
        low, high = float(low), float(high)
    if low >= high:
        raise where.error(f"low ({show(low)}) must be below high ({show(high)})")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise where.at("log").error(f"log must be true or false, got {show(log)}")
    if log and low <= 0:
        raise where.at("low").error(f"log: true needs low > 0, got low={show(low)}")
    return {"low": low, "high": high, "log": log}


def _values(spec: Mapping, where: Where) -> tuple[Any, ...]:
    if "values" not in spec or spec["values"] is None:
        raise where.error("missing 'values'")
    values = spec["values"]
    if not isinstance(values, (list, tuple)):
        raise where.at("values").error(f"values must be a list, got {_type_name(values)} {show(values)}")
    if not values:
        raise where.at("values").error("values is empty")
    seen: dict[tuple[str, Any], Any] = {}
    out = []
    for i, value in enumerate(values):
        value = _scalar(value, where.at("values", i), "a value")
        if tag(value) in seen:
            raise where.at("values").error(f"duplicate value {show(value)} in values")
        seen[tag(value)] = value
        out.append(value)
    return tuple(out)
