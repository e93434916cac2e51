"""Resolving `module:attr` and `path/to/file.py:attr` references from YAML.

File paths are resolved relative to the YAML file, so a sweep folder can be moved as a unit.
Every problem becomes a one-line `BadInput` naming the file, the key and what is wrong.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from orchestrator.errors import BadInput, where


def resolve(ref: Any, source: str, key: str, base_dir: Path | None) -> Any:
    """Import the object named by `ref` ("module:attr" or "file.py:attr")."""
    if not isinstance(ref, str) or ":" not in ref:
        raise BadInput(where(source, key, f"expected 'module:attr' or 'path/to/file.py:attr', got {ref!r}"))
    target, _, attr = ref.rpartition(":")
    if not target or not attr:
        raise BadInput(where(source, key, f"expected 'module:attr' or 'path/to/file.py:attr', got {ref!r}"))
    if target.endswith(".py"):
        module = _load_file(target, source, key, base_dir)
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as err:
            raise BadInput(where(source, key, f"cannot import module {target!r} ({err})")) from None
        except Exception as err:
            raise BadInput(where(source, key, f"importing {target!r} raised {type(err).__name__}: {err}")) from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            names = [n for n in dir(module) if not n.startswith("_")]
            hint = f"; it has: {', '.join(names[:12])}" if names else ""
            raise BadInput(where(source, key, f"{target!r} has no attribute {attr!r}{hint}"))
        obj = getattr(obj, part)
    if not callable(obj):
        raise BadInput(where(source, key, f"{ref!r} is not callable"))
    return obj


def _load_file(target: str, source: str, key: str, base_dir: Path | None) -> Any:
    path = Path(target)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    path = path.resolve()
    if not path.is_file():
        raise BadInput(where(source, key, f"file {str(path)!r} does not exist"))
    name = "rung_user_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise BadInput(where(source, key, f"cannot load {str(path)!r} as Python"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as err:
        del sys.modules[name]
        raise BadInput(where(source, key, f"running {path.name} raised {type(err).__name__}: {err}")) from None
    return module
