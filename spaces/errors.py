"""Errors raised by spaces, and where in a file they point.

Every problem with a space or a configuration becomes one :class:`SpaceError` whose text is a
single line ``<source>: <key.path>: <problem>``: the CLI prints it as is (exit code 2), so it has
to name the file, the exact key and what is wrong without a traceback.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["SpaceError", "Where", "closest", "did_you_mean", "show"]


class SpaceError(ValueError):
    """A bad space definition or configuration; ``str(e)`` is ``<source>: <key.path>: <problem>``."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        self.source = source
        self.key = key
        self.problem = _one_line(problem)
        text = f"{source}: {key}: {self.problem}" if key else f"{source}: {self.problem}"
        super().__init__(_one_line(text))

    def __reduce__(self):  # keep (source, key, problem) when sent between processes (Ray)
        return (type(self), (self.source, self.key, self.problem))


def _one_line(text: str) -> str:
    return re.sub(r"\s*[\r\n]+\s*", " ", text).strip()


@dataclass(frozen=True)
class Where:
    """A position in a source file (file name plus key path), used to build error messages.

    Loading passes these down instead of strings so that every check can report the full key path
    (``space.arch.stage_2.width.low``) without each caller re-assembling it.
    """

    source: str
    path: tuple[str, ...] = ()

    def at(self, *parts: object) -> Where:
        return Where(self.source, self.path + tuple(str(p) for p in parts))

    @property
    def key(self) -> str:
        return ".".join(self.path)

    def error(self, problem: str) -> SpaceError:
        return SpaceError(self.source, self.key, problem)


def closest(word: object, options: Iterable[str]) -> str | None:
    """The option most similar to ``word`` (difflib ratio >= 0.6), or None."""
    if not isinstance(word, str):
        return None
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(word: object, options: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest option, or an empty string when none is close."""
    match = closest(word, options)
    return f" (did you mean {match!r}?)" if match else ""


def show(value: object) -> str:
    """A value as a user wrote it in YAML: strings quoted, bools lower case, floats short."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if value is None:
        return "null"
    return repr(value)
