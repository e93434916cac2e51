"""The :class:`Space`: what searchers sample, validate, encode and mutate.

It ties the parts together (loader -> params -> conditions -> encoding/mutation) and is the only
class the rest of rung needs. A Space is immutable after construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from . import mutation
from .canonical import config_key, spec_digest
from .conditions import build_condition, dependency_order
from .encoding import Encoder
from .errors import SpaceError, Where, did_you_mean, show
from .loader import flatten
from .params import Param, parse_param

__all__ = ["Space"]


def _generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


class Space:
    """A search space of named (dotted), possibly conditional parameters.

    Build one with :meth:`from_dict` from the YAML ``space:`` mapping. Configurations are plain
    dicts holding exactly the active parameters (constants included), with JSON-native values.

    Example::

        >>> import numpy as np
        >>> s = Space.from_dict({"opt": {"type": "choice", "values": ["sgd", "adamw"]},
        ...                      "momentum": {"type": "float", "low": 0.5, "high": 0.99,
        ...                                   "when": {"opt": "sgd"}}})
        >>> c = s.sample(np.random.default_rng(0))
        >>> s.is_valid(c), ("momentum" in c) == (c["opt"] == "sgd")
        (True, True)
    """

    def __init__(self, params: Iterable[Param], *, source: str = "<space>", key: str = "space") -> None:
        self.params: dict[str, Param] = {}
        where = Where(source, (key,) if key else ())
        for p in params:
            if p.name in self.params:
                raise where.at(p.name).error(f"duplicate parameter name {p.name!r}")
            self.params[p.name] = p
        if not self.params:
            raise where.error("the space is empty; define at least one parameter")
        self.names: list[str] = list(self.params)
        self._order = dependency_order(self.params, where)
        self.encoder = Encoder(list(self.params.values()), self._order)
        self.dim: int = self.encoder.dim

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_dict(
        cls,
        data: Mapping,
        source: str = "<space>",
        key: str = "space",
        base_dir: Path | None = None,
    ) -> Space:
        """Build a space from its YAML mapping (already parsed).

        ``source`` (a file name) and ``key`` (the key path of ``data`` in that file) prefix every
        error message; ``base_dir`` resolves ``include: path.yaml`` (default: the working directory).
        """
        where = Where(source, (key,) if key else ())
        raws = flatten(data, where, Path(base_dir) if base_dir is not None else None)
        params = {raw.name: parse_param(raw.name, raw.spec, raw.where) for raw in raws}
        resolved = []
        for raw in raws:
            condition = build_condition(raw.name, raw.whens, params)
            p = params[raw.name]
            resolved.append(p if condition is None else replace(p, condition=condition))
        return cls(resolved, source=source, key=key)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Fully resolved flat spec: dotted names, includes expanded, ``when`` on absolute names.

        ``Space.from_dict(s.to_dict())`` has the same names, params and encoding.
        """
        return {name: p.to_spec() for name, p in self.params.items()}

    def fingerprint(self) -> str:
        """Short sha256 hex of the canonical :meth:`to_dict`: equal for spaces that search alike."""
        return spec_digest(self.to_dict())

    # -- configurations -------------------------------------------------------------------------

    def sample(self, rng: np.random.Generator | int | None) -> dict[str, Any]:
        """A configuration from the prior (uniform / log-uniform); only active parameters."""
        rng = _generator(rng)
        out: dict[str, Any] = {}
        for name in self._order:
            p = self.params[name]
            if p.condition is None or p.condition.holds(out):
                out[name] = p.sample(rng)
        return {n: out[n] for n in self.names if n in out}

    def default_config(self) -> dict[str, Any]:
        """The configuration of defaults (``default:``, else the centre of each range, first choice)."""
        out: dict[str, Any] = {}
        for name in self._order:
            p = self.params[name]
            if p.condition is None or p.condition.holds(out):
                out[name] = p.default_value()
        return {n: out[n] for n in self.names if n in out}

    def validate(self, config: Mapping[str, Any], source: str = "config") -> None:
        """Raise SpaceError (``<source>: <name>: <problem>``) unless ``config`` is valid.

        Checks unknown names, missing active parameters, inactive parameters present, and each
        value's type and range. Parents are checked before their children.
        """
        if not isinstance(config, Mapping):
            raise SpaceError(source, "", f"a configuration must be a mapping, got {type(config).__name__}")
        for name in config:
            if name not in self.params:
                raise SpaceError(source, str(name), f"unknown parameter{did_you_mean(name, self.names)}")
        active: dict[str, Any] = {}
        for name in self._order:
            p = self.params[name]
            on = p.condition is None or p.condition.holds(active)
            if on and name not in config:
                why = f" (active because {p.condition.describe()})" if p.condition else ""
                raise SpaceError(source, name, f"missing{why}")
            if not on and name in config:
                assert p.condition is not None
                state = ", ".join(
                    f"{c.parent}={show(active[c.parent])}" if c.parent in active else f"{c.parent} inactive"
                    for c in p.condition.clauses
                )
                raise SpaceError(source, name, f"set but inactive: needs {p.condition.describe()} ({state})")
            if on:
                problem = p.problem(config[name])
                if problem is not None:
                    raise SpaceError(source, name, problem)
                active[name] = config[name]

    def is_valid(self, config: Any) -> bool:
        try:
            self.validate(config)
        except SpaceError:
            return False
        return True

    def active(self, name: str, config: Mapping[str, Any]) -> bool:
        """Whether ``name`` is active given the values in ``config`` (its parents active too)."""
        if name not in self.params:
            raise KeyError(f"unknown parameter {name!r}{did_you_mean(name, self.names)}")
        condition = self.params[name].condition
        if condition is None:
            return True
        return all(
            c.parent in config and c.matches(config[c.parent]) and self.active(c.parent, config)
            for c in condition.clauses
        )

    def key(self, config: Mapping[str, Any]) -> str:
        """Canonical text of ``config``: independent of dict order and float formatting."""
        return config_key(self.params, config)

    # -- encoding -------------------------------------------------------------------------------

    def encode(self, config: Mapping[str, Any]) -> np.ndarray:
        """``(dim,)`` float64 in [0, 1]; see :mod:`spaces.encoding` for the layout."""
        return self.encoder.encode_many([config])[0]

    def encode_many(self, configs: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """``(n, dim)`` float64 in [0, 1]."""
        return self.encoder.encode_many(list(configs))

    def decode(self, vec: np.ndarray) -> dict[str, Any]:
        """The nearest valid configuration to a point of the unit cube (activity dims ignored)."""
        vec = np.asarray(vec, dtype=np.float64)
        if vec.shape != (self.dim,):
            raise ValueError(f"expected a vector of shape ({self.dim},), got {vec.shape}")
        return self.encoder.decode_many(vec[None, :])[0]

    def decode_many(self, X: np.ndarray) -> list[dict[str, Any]]:
        """:meth:`decode` for each row of an ``(n, dim)`` array."""
        return self.encoder.decode_many(X)

    # -- local moves ----------------------------------------------------------------------------

    def mutate(self, config: Mapping[str, Any], rng: np.random.Generator | int | None, scale: float = 0.1) -> dict[str, Any]:
        """A valid configuration differing from ``config`` in one or two parameters (plus the
        conditional children that appear or disappear with them). ``scale`` is the Gaussian step
        in the encoded [0, 1] space."""
        return mutation.mutate(self.params, self._order, self.names, config, _generator(rng), scale)

    def neighbours(
        self, config: Mapping[str, Any], rng: np.random.Generator | int | None, n: int, scale: float = 0.1
    ) -> list[dict[str, Any]]:
        """``n`` mutations of ``config``, distinct from each other and from it where possible."""
        rng = _generator(rng)
        return mutation.neighbours(lambda: self.mutate(config, rng, scale), self.key, config, n)

    # -- container protocol ---------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, name: object) -> bool:
        return name in self.params

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __repr__(self) -> str:
        return f"Space({len(self.names)} params, dim={self.dim}, fingerprint={self.fingerprint()})"
