"""One small local Ray for the Ray tests of a module (starting Ray takes seconds)."""
from __future__ import annotations

import pytest

@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    if not ray.is_initialized():
        ray.init(address="local", num_cpus=4, include_dashboard=False, log_to_driver=False, object_store_memory=100 * 2**20,
                 namespace="rung-tests")
    yield ray
    ray.shutdown()
