"""WHERE trials run: the Ray connection, per-trial resources and the checkpoint storage root.

Imports nothing of rung's own (see DESIGN.md section 1), and Ray only when a connection is
made, so resources and storage are usable (and testable) without starting Ray. The simulated
executor needs none of it.

- `connect` / `RayConnection` (connection.py): embedded local Ray, reuse, or join a cluster;
- `TrialResources`, `check_feasible`, `max_concurrent` (resources.py): ``resources_per_trial``;
- `Storage` (storage.py): the storage root (local path, shared filesystem, s3://, gs://, ...);
- templates/: Ray cluster launcher configs (``ray up``), documented in docs/cluster.md.
"""
from cluster.connection import ClusterError, NodeInfo, RayConnection, autoscaler_node_types, connect
from cluster.resources import (
    ResourceError,
    TrialResources,
    check_feasible,
    feasible_nodes,
    max_concurrent,
    parse_memory,
)
from cluster.storage import Storage, StorageError

__all__ = [
    "ClusterError", "NodeInfo", "RayConnection", "connect", "autoscaler_node_types",
    "ResourceError", "TrialResources", "check_feasible", "feasible_nodes", "max_concurrent", "parse_memory",
    "Storage", "StorageError",
]
