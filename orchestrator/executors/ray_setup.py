"""Building the Ray executor from an experiment: connect, check resources, open storage.

Kept apart from `ray.py` so the simulator path never imports Ray, and so every problem a
user can fix (an address that does not answer, resources no node has, a bad storage URI)
becomes a one-line `BadInput` before any trial starts.
"""
from __future__ import annotations

from pathlib import Path

from orchestrator.errors import BadInput, where
from orchestrator.experiment import Experiment


def make_ray_executor(exp: Experiment, directory: Path, start_time: float = 0.0):  # -> RayExecutor
    from cluster.connection import ClusterError, connect
    from cluster.resources import ResourceError, TrialResources, check_feasible, max_concurrent
    from cluster.storage import Storage
    from orchestrator.executors.ray import RayExecutor

    opts = exp.executor_options
    key = "executor.resources_per_trial"
    try:
        resources = TrialResources.from_mapping(opts.get("resources_per_trial", {}), key=key)
    except ResourceError as err:
        raise BadInput(where(exp.source, "", str(err))) from None
    try:
        connection = connect(opts.get("address"))
    except ClusterError as err:
        raise BadInput(where(exp.source, "executor.address", str(err))) from None
    try:
        nodes = connection.nodes()
        check_feasible(resources, nodes, key=key, node_types=connection.autoscaler_node_types())
        fits = max_concurrent(resources, nodes)
        if fits < exp.workers:
            print(f"rung: note: {exp.workers} workers asked, the cluster runs {fits} trials of "
                  f"{resources.describe()} at once now; the others wait for resources (or an autoscaler).")
        root = opts.get("storage") or str(Path(directory).resolve())
        try:
            storage = Storage.open(root)
        except (ValueError, OSError, ImportError) as err:
            raise BadInput(where(exp.source, "executor.storage", f"cannot open {root!r}: {err}")) from None
        return RayExecutor(
            trainable_ref=_absolute_ref(exp), trainable_args=exp.trainable_args, base_dir=str(exp.base_dir),
            storage=storage, workers=exp.workers, ray_options=resources.ray_options(),
            threads=max(1, int(resources.cpu)), use_gpu=resources.gpu > 0, seed=exp.seed,
            max_level=exp.ladder.max_level, connection=connection, start_time=start_time,
        )
    except ResourceError as err:
        connection.close()
        raise BadInput(where(exp.source, "", str(err))) from None
    except BaseException:
        connection.close()
        raise


def _absolute_ref(exp: Experiment) -> str:
    """`file.py:attr` references made absolute, so workers in other directories find them."""
    target, _, attr = exp.trainable_ref.rpartition(":")
    if target.endswith(".py") and not Path(target).is_absolute():
        return f"{(exp.base_dir / target).resolve()}:{attr}"
    return exp.trainable_ref
