"""rung search spaces: what can be searched.

A space is written in YAML under an experiment's ``space:`` key (see ``docs`` and DESIGN.md) and
loaded with :meth:`Space.from_dict`. Reusable fragments ship in ``spaces/library/`` and are pulled
in with ``include: NAME``; :func:`library_fragments` lists them. This package imports nothing else
of rung.
"""

from .conditions import Clause, Condition
from .errors import SpaceError
from .loader import library_fragments
from .params import Param
from .space import Space

__all__ = ["Space", "SpaceError", "Param", "Condition", "Clause", "library_fragments"]
