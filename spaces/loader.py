"""From the YAML ``space:`` mapping to a flat list of named parameter specs.

Two passes, each with one job:

1. :func:`expand_includes` merges ``include:`` fragments into their groups, recursively. Keys
   written in the group win over the fragment's; a parameter mapping without ``type`` (or with the
   same ``type``) is merged key by key into the fragment's, so ``max_units: {high: 256}`` narrows a
   shipped range without restating it. ``when`` and ``values`` are always replaced whole.
2. :func:`flatten` walks groups into dotted names and records, for each parameter, the ``when``
   mappings of the parameter and of its enclosing groups with the scopes their parent names are
   looked up in. Interpreting specs and conditions is left to params/conditions.

A dotted key at the top level (``arch.depth: {...}``) is a fully qualified name, the flat form
``Space.to_dict`` writes; its ``when`` names parents by absolute name.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .conditions import WrittenWhen
from .errors import SpaceError, Where, did_you_mean, show

__all__ = ["LIBRARY_DIR", "RawParam", "expand_includes", "flatten", "library_fragments"]

LIBRARY_DIR = Path(__file__).resolve().parent / "library"
_GROUP_KEYS = ("when", "include")
# Keys that only make sense on a parameter: a mapping holding these but no ``type`` is a parameter
# with its type forgotten, not a group of constants named "low" and "high".
_PARAM_ONLY_KEYS = frozenset({"low", "high", "log", "values", "value", "default"})


def library_fragments() -> list[str]:
    """Names of the fragments shipped in ``spaces/library`` (usable as ``include: NAME``)."""
    return sorted(p.stem for p in LIBRARY_DIR.glob("*.yaml"))


@dataclass(frozen=True)
class RawParam:
    """One parameter after flattening: dotted name, spec as written, and the ``when``s that apply."""

    name: str
    spec: Any
    whens: tuple[WrittenWhen, ...]
    where: Where


def flatten(data: Any, where: Where, base_dir: Path | None = None) -> list[RawParam]:
    """Expand includes and flatten groups; checks structure and names, not parameter specs."""
    if not isinstance(data, Mapping):
        kind = "null" if data is None else type(data).__name__
        raise where.error(f"a space must be a mapping of parameter names to specs, got {kind}")
    tree = expand_includes(data, where, base_dir)
    if "when" in tree:
        raise where.at("when").error("the top level of a space cannot carry 'when'; put it on a group")
    out: list[RawParam] = []
    _walk(tree, "", (), where, out)
    if not out:
        raise where.error("the space is empty; define at least one parameter")
    seen: dict[str, RawParam] = {}
    for raw in out:
        if raw.name in seen:
            raise raw.where.error(f"duplicate parameter name {raw.name!r}")
        seen[raw.name] = raw
    return out


def _scopes(prefix: str) -> tuple[str, ...]:
    """Group scopes from ``prefix`` outward to the root: "a.b" -> ("a.b", "a", "")."""
    scopes = []
    while prefix:
        scopes.append(prefix)
        prefix = prefix.rpartition(".")[0]
    scopes.append("")
    return tuple(scopes)


def _is_param(value: Any) -> bool:
    return not isinstance(value, Mapping) or "type" in value


def _check_name(name: Any, where: Where, dotted_ok: bool) -> None:
    if not isinstance(name, str):
        raise where.error(f"names must be strings, got {show(name)} (quote it in YAML)")
    parts = name.split(".") if dotted_ok else [name]
    for part in parts:
        if not part:
            raise where.error(f"bad name {name!r}: empty name")
        if any(ch.isspace() for ch in part):
            raise where.error(f"bad name {name!r}: names must not contain whitespace")
        if "." in part:
            raise where.error(
                f"bad name {name!r}: names must not contain '.'; nest a group instead "
                "(dotted names are only allowed for parameters at the top level)"
            )


def _walk(group: Mapping, prefix: str, whens: tuple[WrittenWhen, ...], where: Where, out: list[RawParam]) -> None:
    for key, value in group.items():
        if key in _GROUP_KEYS:
            continue
        here = where.at(key)
        top = prefix == ""
        _check_name(key, here, dotted_ok=top and _is_param(value))
        name = f"{prefix}.{key}" if prefix else key
        if value is None:
            raise here.error("no value; write a parameter spec, a constant, or a group of parameters")
        if isinstance(value, (list, tuple)):
            raise here.error(f"a list is not a parameter; write {{type: choice, values: {show(list(value))}}}")
        if not isinstance(value, Mapping):
            out.append(RawParam(name, value, whens, here))
            continue
        if "type" in value:
            own = whens
            if "when" in value:
                scopes = ("",) if "." in key else _scopes(prefix)
                own = whens + (WrittenWhen(value["when"], scopes, here.at("when")),)
            out.append(RawParam(name, value, own, here))
            continue
        keys = set(value) - set(_GROUP_KEYS)
        if keys and keys <= _PARAM_ONLY_KEYS:
            raise here.error(
                f"missing 'type' (found {', '.join(sorted(map(str, keys)))}); "
                "add type: float, int, choice, ordinal, bool or constant"
            )
        if not keys:
            raise here.error("empty group: it has no parameters")
        inner = whens
        if "when" in value:
            inner = whens + (WrittenWhen(value["when"], _scopes(prefix), here.at("when")),)
        _walk(value, name, inner, here, out)


def expand_includes(
    group: Mapping, where: Where, base_dir: Path | None, stack: tuple[tuple[str, str], ...] = ()
) -> dict:
    """``group`` with its ``include:`` fragments (and those of nested groups) merged in.

    ``stack`` holds the fragments being expanded (identity, name as written), to report include
    cycles instead of recursing forever.
    """
    merged: dict = {}
    if "include" in group:
        refs = group["include"]
        if isinstance(refs, str):
            refs = [refs]
        if not isinstance(refs, (list, tuple)) or not all(isinstance(r, str) and r for r in refs):
            raise where.at("include").error(
                f"include must be a fragment name or a list of them, got {show(group['include'])}"
            )
        for ref in refs:
            fragment, frag_dir, ident = _load_fragment(ref, base_dir, where.at("include"))
            idents = [i for i, _ in stack]
            if ident in idents:
                chain = " -> ".join([label for _, label in stack[idents.index(ident):]] + [ref])
                raise where.at("include").error(f"include cycle: {chain}")
            try:
                fragment = expand_includes(fragment, Where(""), frag_dir, stack + ((ident, ref),))
            except SpaceError as exc:
                # Report at the user's include key, and say where inside the fragment it went wrong.
                inside = f"{exc.key}: " if exc.key else ""
                raise where.at("include").error(f"in {ref}: {inside}{exc.problem}") from None
            merged = _merge(merged, fragment)
    for key, value in group.items():
        if key == "include":
            continue
        if isinstance(value, Mapping) and "type" not in value:
            value = expand_includes(value, where.at(key), base_dir, stack)
        merged[key] = _merge(merged[key], value) if key in merged else value
    return merged


def _merge(base: Any, override: Any) -> Any:
    """``override`` written over ``base``: mappings of the same kind merge key by key."""
    if not (isinstance(base, Mapping) and isinstance(override, Mapping)):
        return override
    if override.get("type", base.get("type")) != base.get("type"):
        return override  # a different kind of parameter (or a group replacing a parameter)
    out = dict(base)
    for key, value in override.items():
        if key in out and key not in ("when", "values"):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _load_fragment(ref: str, base_dir: Path | None, where: Where) -> tuple[Mapping, Path, str]:
    """Read a fragment: a library name or a ``.yaml``/``.yml`` path relative to ``base_dir``."""
    if ref.endswith((".yaml", ".yml")):
        path = Path(ref).expanduser()
        if not path.is_absolute():
            path = (base_dir or Path.cwd()) / path
        if not path.is_file():
            raise where.error(f"include file not found: {path}")
        ident = str(path)
        data = _read_yaml(path, where)
    else:
        available = library_fragments()
        if ref not in available:
            raise where.error(
                f"unknown fragment {ref!r}{did_you_mean(ref, available)}; available: {', '.join(available)} "
                "(or a path to a .yaml file)"
            )
        path = LIBRARY_DIR / f"{ref}.yaml"
        ident = f"spaces/library/{ref}.yaml"
        data = _read_library(ref)
    if data is None:
        raise where.error(f"fragment {ident} is empty")
    if not isinstance(data, Mapping):
        raise where.error(f"fragment {ident} must be a mapping of parameters, got {type(data).__name__}")
    return data, path.parent, ident


def _read_yaml(path: Path, where: Where) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise where.error(f"cannot parse {path}{at}: {problem}") from None
    except OSError as exc:
        raise where.error(f"cannot read {path}: {exc.strerror or exc}") from None


@functools.lru_cache(maxsize=None)
def _read_library(name: str) -> Any:
    # Shipped files never change while running; parsing them once keeps building spaces cheap.
    # Callers never mutate the result (merging builds new dicts).
    return _read_yaml(LIBRARY_DIR / f"{name}.yaml", Where(f"spaces/library/{name}.yaml"))
