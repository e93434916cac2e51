"""Errors that the CLI turns into exit codes.

`BadInput` is anything the user can fix by editing their command line, YAML file or
trainable: the CLI prints its message as ONE line on stderr and exits with 2, without a
traceback. Everything else is a bug or an environment problem and exits with 1.
"""
from __future__ import annotations


class BadInput(Exception):
    """A user-fixable problem; ``str(err)`` is one line naming file, key and problem."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


def where(source: str, key: str, problem: str) -> str:
    """Format the canonical one-line message ``source: key: problem``."""
    return f"{source}: {key}: {problem}" if key else f"{source}: {problem}"
