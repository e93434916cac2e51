"""Connecting the driver to Ray: an embedded local Ray by default, or an existing cluster.

Three cases, decided once per run:

* **reuse**: Ray is already initialised in this process (a notebook, a test fixture, an
  application embedding rung): use that session and never shut it down;
* **embedded** (no address, no ``RAY_ADDRESS``): start a private local Ray inside this process
  (``ray.init(address="local")``, so a ``ray start`` cluster elsewhere on the machine is not
  picked up by accident), dashboard off unless asked (then on 127.0.0.1 only), quiet logs;
  `RayConnection.close` shuts it down again;
* **join** (``address`` = ``"auto"``, ``host:port`` or ``ray://host:port``, or ``RAY_ADDRESS``):
  connect to a running cluster; `close` only disconnects, the cluster keeps running.

Token authentication stays as Ray configures it: Ray >= 2.59 turns it on for a local cluster it
starts (a token in ``~/.ray/auth_token``, ``RAY_AUTH_MODE=token`` in this process's
environment, which worker processes inherit). Joining by ``"auto"`` turns it on when a token is
available; joining an explicit address needs ``RAY_AUTH_MODE=token`` plus the cluster's token
(``RAY_AUTH_TOKEN`` or ``~/.ray/auth_token``), and a missing token is named in the error.

Why a TCP probe before joining: ``ray.init`` on an address where nothing listens retries for
minutes (it was seen here to wait > 200 s), which to a user is a hang. The probe turns that
into a `ClusterError` within `connect_timeout_s`.
"""
from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from typing import Any, Mapping

__all__ = ["ClusterError", "NodeInfo", "RayConnection", "connect", "autoscaler_node_types"]

DEFAULT_NAMESPACE = "rung"
# Where `ray up` leaves the cluster config on the head node (with resources filled in).
BOOTSTRAP_CONFIG = "~/ray_bootstrap_config.yaml"
RAY_CLIENT_PORT = 10001
_AUTH_LOGGER = "ray._private.authentication.authentication_token_setup"


class ClusterError(Exception):
    """Ray could not be started or joined; the message is one line naming the address."""


@dataclass(frozen=True)
class NodeInfo:
    """One alive Ray node: id, IP, whether it is the head, and its total resources.

    `resources` uses Ray's names: ``CPU``, ``GPU``, ``memory`` and ``object_store_memory`` in
    bytes, custom resources by name, and ``node:<ip>`` (one per node, usable to pin an actor
    to that node with ``resources={"node:<ip>": 0.001}``).
    """

    node_id: str
    address: str
    is_head: bool
    resources: Mapping[str, float] = field(default_factory=dict)

    @property
    def cpu(self) -> float:
        return float(self.resources.get("CPU", 0.0))

    @property
    def gpu(self) -> float:
        return float(self.resources.get("GPU", 0.0))


class RayConnection:
    """The driver's Ray session; see the module docstring. A context manager.

    started: this object started the local Ray processes (embedded mode).
    owns_session: this object called ``ray.init``, so `close` calls ``ray.shutdown``
    (which stops the processes in embedded mode and only disconnects when joined).
    """

    def __init__(self, *, address: str, started: bool, owns_session: bool, namespace: str | None,
                 mode: str) -> None:
        self.address = address          # the GCS address (host:port), or the ray:// address
        self.started = started
        self.owns_session = owns_session
        self.namespace = namespace
        self.mode = mode                # "embedded" | "joined" | "reused"
        self._closed = False

    def nodes(self) -> list[NodeInfo]:
        """The alive nodes with their total resources, head first."""
        import ray

        out = []
        for n in ray.nodes():
            if not n.get("Alive", n.get("alive", False)):
                continue
            res = {str(k): float(v) for k, v in (n.get("Resources") or {}).items()}
            out.append(NodeInfo(node_id=str(n.get("NodeID", "")), address=str(n.get("NodeManagerAddress", "")),
                                is_head="node:__internal_head__" in res, resources=res))
        out.sort(key=lambda node: (not node.is_head, node.address, node.node_id))
        return out

    def total_resources(self) -> dict[str, float]:
        """The cluster's resources summed over alive nodes (Ray's names)."""
        import ray

        return {str(k): float(v) for k, v in ray.cluster_resources().items()}

    def available_resources(self) -> dict[str, float]:
        """What is free right now (changes as actors start and end)."""
        import ray

        return {str(k): float(v) for k, v in ray.available_resources().items()}

    def autoscaler_node_types(self) -> list[dict[str, float]]:
        """Node types an autoscaler may still add (see `autoscaler_node_types`); [] unless joined."""
        return autoscaler_node_types() if self.mode != "embedded" else []

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Shut down what this object started or joined; a reused session is left alone. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self.owns_session:
            import ray

            if ray.is_initialized():
                ray.shutdown()

    def __enter__(self) -> "RayConnection":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RayConnection(address={self.address!r}, mode={self.mode!r}, closed={self._closed})"


def connect(address: str | None = None, *, num_cpus: float | None = None, num_gpus: float | None = None,
            resources: Mapping[str, float] | None = None, object_store_memory: int | None = None,
            namespace: str = DEFAULT_NAMESPACE, log_to_driver: bool = False, dashboard: bool = False,
            runtime_env: Mapping[str, Any] | None = None, connect_timeout_s: float = 5.0) -> RayConnection:
    """Reuse, start or join Ray (see the module docstring) and return the `RayConnection`.

    num_cpus, num_gpus, resources and object_store_memory size the embedded Ray only; they are
    an error when joining (a cluster's size is set where its nodes start). log_to_driver=False
    keeps trainables' prints out of the driver's terminal (rung reports results itself).
    """
    import ray

    if ray.is_initialized():
        return _reuse(address)
    target = address if address not in (None, "") else os.environ.get("RAY_ADDRESS") or None
    if target is None or target == "local":
        return _start_embedded(num_cpus=num_cpus, num_gpus=num_gpus, resources=resources,
                               object_store_memory=object_store_memory, namespace=namespace,
                               log_to_driver=log_to_driver, dashboard=dashboard, runtime_env=runtime_env)
    if any(v is not None for v in (num_cpus, num_gpus, resources, object_store_memory)):
        raise ClusterError(f"Ray at {target}: num_cpus, num_gpus, resources and object_store_memory size an "
                           "embedded Ray only; a cluster's nodes set their own resources")
    return _join(target, namespace=namespace, log_to_driver=log_to_driver, runtime_env=runtime_env,
                 timeout=connect_timeout_s)


# ------------------------------------------------------------------------------ the cases
def _current_address() -> str:
    import ray

    try:
        return str(ray.get_runtime_context().gcs_address)
    except Exception:
        return ""


def _reuse(address: str | None) -> RayConnection:
    import ray

    current = _current_address()
    if address not in (None, "", "auto", "local") and not str(address).startswith("ray://"):
        wanted = _canonical(str(address))
        if wanted and current and wanted != current:
            raise ClusterError(f"Ray at {address}: this process is already connected to Ray at {current}; "
                               "one process can use one Ray cluster")
    try:
        namespace = ray.get_runtime_context().namespace
    except Exception:
        namespace = None
    return RayConnection(address=current, started=False, owns_session=False, namespace=namespace, mode="reused")


class _DropTokenNotice(logging.Filter):
    """Hides Ray's 'token authentication is enabled' notice for the embedded Ray: rung's own
    private cluster is meant to run with token auth on, so the notice is noise there."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Token authentication is enabled" not in record.getMessage()


def _start_embedded(*, num_cpus: float | None, num_gpus: float | None, resources: Mapping[str, float] | None,
                    object_store_memory: int | None, namespace: str, log_to_driver: bool, dashboard: bool,
                    runtime_env: Mapping[str, Any] | None) -> RayConnection:
    import ray

    kwargs: dict[str, Any] = dict(
        address="local", num_cpus=num_cpus, num_gpus=num_gpus, resources=dict(resources) if resources else None,
        object_store_memory=object_store_memory, namespace=namespace, log_to_driver=log_to_driver,
        include_dashboard=bool(dashboard), logging_level=logging.WARNING,
    )
    if dashboard:
        kwargs["dashboard_host"] = "127.0.0.1"
    if runtime_env:
        kwargs["runtime_env"] = dict(runtime_env)
    notice = _DropTokenNotice()
    auth_logger = logging.getLogger(_AUTH_LOGGER)
    auth_logger.addFilter(notice)
    try:
        ray.init(**kwargs)
    except Exception as err:
        raise ClusterError(f"cannot start a local Ray: {_one_line(err)}") from None
    finally:
        auth_logger.removeFilter(notice)
    return RayConnection(address=_current_address(), started=True, owns_session=True, namespace=namespace,
                         mode="embedded")


def _join(address: str, *, namespace: str, log_to_driver: bool, runtime_env: Mapping[str, Any] | None,
          timeout: float) -> RayConnection:
    import ray

    if address.startswith("ray://"):
        host, port = _split(address[len("ray://"):], RAY_CLIENT_PORT, address)
        dial = f"{host}:{port}"
    else:
        dial = _canonical(address, strict=True)
        host, port = _split(dial, None, address)
    reason = _probe(host, port, timeout)
    if reason:
        shown = address if dial == address else f"{address} ({dial})"
        raise ClusterError(f"cannot reach Ray at {shown}: {reason}; is the cluster up "
                           "(`ray status` on its head node) and the port open to this machine?")
    kwargs: dict[str, Any] = dict(address=address, namespace=namespace, log_to_driver=log_to_driver,
                                  logging_level=logging.WARNING)
    if runtime_env:
        kwargs["runtime_env"] = dict(runtime_env)
    try:
        ray.init(**kwargs)
    except Exception as err:
        raise ClusterError(f"cannot join Ray at {address}: {_one_line(err)}{_auth_hint(err)}") from None
    return RayConnection(address=address if address.startswith("ray://") else _current_address(), started=False,
                         owns_session=True, namespace=namespace, mode="joined")


# ------------------------------------------------------------------------------ helpers
def _canonical(address: str, strict: bool = False) -> str:
    """The host:port Ray would dial for `address` ('auto' looked up, localhost -> this node's IP).

    Uses Ray's own resolution (a private function, guarded) so the probe dials what Ray dials:
    Ray 2.60 replaces 127.0.0.1 with the machine's address, where its GCS listens.
    """
    try:
        from ray._private.services import canonicalize_bootstrap_address
    except ImportError:  # a Ray without it: probe the address as given
        if address == "auto":
            if strict:
                raise ClusterError("cannot resolve address 'auto' with this Ray version; give host:port") from None
            return ""
        return address
    try:
        resolved = canonicalize_bootstrap_address(address)
    except Exception as err:
        if strict:
            raise ClusterError(f"cannot join Ray at {address}: {_one_line(err)}") from None
        return ""
    if resolved is None:
        if strict:
            raise ClusterError(f"cannot join Ray at {address}: no running Ray cluster found on this machine")
        return ""
    return str(resolved)


def _split(hostport: str, default_port: int | None, original: str) -> tuple[str, int]:
    host, sep, port = hostport.rpartition(":")
    if not sep:
        host, port = hostport, ""
    host = host.strip("[]")
    if not port:
        if default_port is None:
            raise ClusterError(f"cannot join Ray at {original}: expected host:port, 'auto' or ray://host:port")
        return host, default_port
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ClusterError(f"cannot join Ray at {original}: bad port {port!r}")
    if not host:
        raise ClusterError(f"cannot join Ray at {original}: no host")
    return host, int(port)


def _probe(host: str, port: int, timeout: float) -> str:
    """'' when a TCP connection to host:port opens within `timeout`, else the reason."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return ""
    except socket.timeout:
        return f"no answer within {timeout:g} s"
    except ConnectionRefusedError:
        return "connection refused (nothing listens on that port)"
    except socket.gaierror as err:
        return f"unknown host ({err.strerror or err})"
    except OSError as err:
        return err.strerror or str(err)


def _one_line(err: BaseException) -> str:
    text = str(err).strip()
    first = text.splitlines()[0].strip() if text else ""
    return f"{type(err).__name__}: {first}" if first else type(err).__name__


def _auth_hint(err: BaseException) -> str:
    text = str(err).lower()
    if os.environ.get("RAY_AUTH_MODE", "").lower() == "token" and "token" not in text:
        return ""
    return ("; if the cluster uses token authentication, set RAY_AUTH_MODE=token and give its token "
            "(RAY_AUTH_TOKEN, or the file ~/.ray/auth_token; `ray get-auth-token` on the head node prints it)")


def autoscaler_node_types(path: str = BOOTSTRAP_CONFIG) -> list[dict[str, float]]:
    """Resources of the worker node types a `ray up` autoscaler may launch; [] if not on such a head.

    Why: an autoscaling cluster often starts with no worker nodes (min_workers: 0) and a head
    that runs no trials (CPU: 0), so checking a trial's resources against the nodes alive now
    would refuse a search the autoscaler would happily serve. ``ray up`` copies the cluster
    config, with each node type's resources filled in (auto-detected on AWS/GCP), to
    ``~/ray_bootstrap_config.yaml`` on the head node; this reads it (YAML/JSON, safe loader).
    Only node types with max_workers > 0 and stated resources count. Best effort: any
    problem reading the file gives [].
    """
    full = os.path.expanduser(path)
    if not os.path.isfile(full):
        return []
    try:
        import yaml

        with open(full, encoding="utf-8") as f:
            config = yaml.safe_load(f) or {}
        types = config.get("available_node_types") or {}
        head = config.get("head_node_type")
        out = []
        for name, spec in types.items():
            if name == head or not isinstance(spec, Mapping) or int(spec.get("max_workers", 0) or 0) <= 0:
                continue
            res = spec.get("resources") or {}
            if isinstance(res, Mapping) and res:
                out.append({str(k): float(v) for k, v in res.items()})
        return out
    except Exception:
        return []
