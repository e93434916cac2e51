"""Conditional parameters: ``when`` clauses, parent resolution, and the dependency order.

A parameter is active when every clause of its condition holds *and* each parent is itself active.
Inactive parameters are absent from configurations, so "the parent is present and has an allowed
value" is the whole test once parents are visited first; :func:`dependency_order` provides that
order (and rejects cycles), which sampling, validation, decoding and mutation all walk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import Where, closest, show
from .params import Param, native, tag

__all__ = ["Clause", "Condition", "WrittenWhen", "parse_when", "build_condition", "dependency_order"]


@dataclass(frozen=True)
class Clause:
    """``parent`` must take one of ``values`` (a single value is plain equality)."""

    parent: str
    values: tuple[Any, ...]
    _tags: frozenset = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_tags", frozenset(tag(v) for v in self.values))

    def matches(self, value: Any) -> bool:
        try:
            return tag(value) in self._tags
        except TypeError:
            return False

    def describe(self) -> str:
        if len(self.values) == 1:
            return f"{self.parent}={show(self.values[0])}"
        return f"{self.parent} in {show(list(self.values))}"


@dataclass(frozen=True)
class Condition:
    """A conjunction of clauses over absolute parent names."""

    clauses: tuple[Clause, ...]

    @property
    def parents(self) -> tuple[str, ...]:
        return tuple(c.parent for c in self.clauses)

    def holds(self, config: Mapping[str, Any]) -> bool:
        """True when every parent is present in ``config`` with an allowed value.

        Presence stands for activity: call it with parents already resolved (dependency order).
        """
        for clause in self.clauses:
            if clause.parent not in config or not clause.matches(config[clause.parent]):
                return False
        return True

    def describe(self) -> str:
        return " and ".join(c.describe() for c in self.clauses)

    def to_spec(self) -> dict[str, Any]:
        return {c.parent: (c.values[0] if len(c.values) == 1 else list(c.values)) for c in self.clauses}


@dataclass(frozen=True)
class WrittenWhen:
    """A ``when`` mapping as written, with the group scopes its parent names are looked up in.

    ``scopes`` run from the innermost group outward and end with ``""`` (the root), so a parent name
    is first a sibling, then a name in an enclosing group, and finally an absolute dotted name.
    """

    raw: Any
    scopes: tuple[str, ...]
    where: Where


def parse_when(raw: Any, where: Where) -> list[tuple[str, tuple[Any, ...]]]:
    """Check the shape of a ``when`` mapping: ``{parent: value}`` or ``{parent: [v1, v2]}``."""
    if not isinstance(raw, Mapping):
        raise where.error(
            "when must be a mapping like {parent: value} or {parent: [value, ...]}, "
            f"got {type(raw).__name__ if raw is not None else 'null'}"
        )
    if not raw:
        raise where.error("when is empty; give at least one parent: value")
    clauses = []
    for parent, value in raw.items():
        if not isinstance(parent, str) or not parent:
            raise where.error(f"when keys must be parameter names, got {show(parent)}")
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if not values:
            raise where.at(parent).error("empty list of values; the condition could never hold")
        for v in values:
            try:
                tag(v)
            except TypeError:
                raise where.at(parent).error(
                    f"condition values must be strings, numbers or bools (or a list of them), got {show(v)}"
                ) from None
        clauses.append((parent, tuple(native(v) for v in values)))
    return clauses


def _resolve(ref: str, scopes: Sequence[str], params: Mapping[str, Param]) -> str | None:
    for scope in scopes:
        candidate = f"{scope}.{ref}" if scope else ref
        if candidate in params:
            return candidate
    return None


def _nearby(ref: str, scopes: Sequence[str], params: Mapping[str, Param]) -> str:
    names = list(params)
    by_tail: dict[str, str] = {}
    for name in names:
        by_tail.setdefault(name.rsplit(".", 1)[-1], name)
    match = closest(ref, names)
    if match is None:
        tail = closest(ref.rsplit(".", 1)[-1], by_tail)
        match = by_tail[tail] if tail else None
    hint = f" (did you mean {match!r}?)" if match else ""
    scope = scopes[0] if scopes else ""
    prefix = f"{scope}." if scope else ""
    siblings = [n for n in names if n.startswith(prefix) and "." not in n[len(prefix):]] or names
    listed = ", ".join(siblings[:8]) + (", ..." if len(siblings) > 8 else "")
    return f"{hint}; names nearby: {listed}"


def build_condition(name: str, whens: Sequence[WrittenWhen], params: Mapping[str, Param]) -> Condition | None:
    """Resolve the ``when`` mappings on a parameter and its groups into one absolute Condition.

    Clauses on the same parent (from a group and from the parameter) are intersected, since all of
    them must hold. Every value must be one the parent can take, or the parameter could never be
    active, which is always a mistake in the space.
    """
    merged: dict[str, tuple[tuple[Any, ...], Where]] = {}
    for written in whens:
        for ref, values in parse_when(written.raw, written.where):
            here = written.where.at(ref)
            parent = _resolve(ref, written.scopes, params)
            if parent is None:
                raise here.error(f"unknown parent {ref!r}{_nearby(ref, written.scopes, params)}")
            for v in values:
                if not params[parent].possible(v):
                    raise here.error(
                        f"{show(v)} is never a value of {parent} ({params[parent].domain()}), "
                        "so the condition could never hold"
                    )
            if parent in merged:
                before, _ = merged[parent]
                keep = tuple(v for v in before if any(tag(v) == tag(w) for w in values))
                if not keep:
                    raise here.error(
                        f"conditions on {parent} ({show(list(before))} and {show(list(values))}) never hold together"
                    )
                values = keep
            merged[parent] = (values, here)
    if not merged:
        return None
    return Condition(tuple(Clause(parent, values) for parent, (values, _) in merged.items()))


def dependency_order(params: Mapping[str, Param], where: Where) -> list[str]:
    """Names with every parent before its children, otherwise in definition order.

    Raises SpaceError naming the cycle (``a -> b -> a``) when conditions depend on each other.
    """
    order: list[str] = []
    done: set[str] = set()
    for start in params:
        if start in done:
            continue
        # Iterative depth-first search so long condition chains cannot hit the recursion limit.
        stack: list[tuple[str, int]] = [(start, 0)]
        on_path: list[str] = [start]
        while stack:
            node, i = stack[-1]
            parents = params[node].condition.parents if params[node].condition else ()
            if i < len(parents):
                stack[-1] = (node, i + 1)
                parent = parents[i]
                if parent not in params:
                    raise where.at(node, "when").error(f"unknown parent {parent!r}")
                if parent in on_path:
                    cycle = on_path[on_path.index(parent):] + [parent]
                    raise where.at(cycle[0], "when").error(f"condition cycle: {' -> '.join(cycle)}")
                if parent not in done:
                    stack.append((parent, 0))
                    on_path.append(parent)
                continue
            stack.pop()
            on_path.pop()
            done.add(node)
            order.append(node)
    return order
