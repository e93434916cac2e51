"""Fixtures for every test folder; the helpers themselves live in `support.py`."""
from support import BRANIN, deep_update, lcbench_available, write_experiment  # noqa: F401 (fixture)
