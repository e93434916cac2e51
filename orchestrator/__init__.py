"""rung's orchestrator: what runs next. The Python API mirrors the CLI (see `api`)."""
from orchestrator.api import best_config, load, results, resume, run, status
from orchestrator.errors import BadInput

__all__ = ["run", "resume", "status", "results", "best_config", "load", "BadInput"]
