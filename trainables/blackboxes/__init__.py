"""Benchmark blackboxes for rung's simulated executor: ``f(config, resource) -> metrics``.

Referenced from an experiment YAML as ``trainable: {blackbox: "trainables.blackboxes:mf_hartmann6",
args: {noise: 0.1, seed: 0}}``; every factory below returns a :class:`Blackbox`.
"""

from .base import BenchmarkDataError, Blackbox
from .lcbench import LCBENCH_METRICS, LCBENCH_SPACE, LCBench, lcbench, lcbench_tasks
from .synthetic import MFBranin, MFHartmann, mf_branin, mf_hartmann3, mf_hartmann6

__all__ = [
    "Blackbox",
    "BenchmarkDataError",
    "MFHartmann",
    "MFBranin",
    "mf_hartmann3",
    "mf_hartmann6",
    "mf_branin",
    "LCBench",
    "lcbench",
    "lcbench_tasks",
    "LCBENCH_SPACE",
    "LCBENCH_METRICS",
]
