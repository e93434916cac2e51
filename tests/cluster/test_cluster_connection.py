"""Connecting to Ray: embedded start and shutdown, reuse, joining a running cluster, bad addresses.

Ray stays on this machine: an embedded Ray, and a `ray.cluster_utils.Cluster` (a head and a
worker node as separate processes on one machine) for joining by address. Both are small
(2-3 logical CPUs, 80 MiB object stores, no dashboard) and token authentication stays on.
"""
from __future__ import annotations

import os
import socket
import time

import pytest

ray = pytest.importorskip("ray")

from cluster.connection import ClusterError, RayConnection, connect  # noqa: E402
from cluster.resources import ResourceError, TrialResources, check_feasible, max_concurrent  # noqa: E402

SMALL = 80 * 2**20


@pytest.fixture(autouse=True)
def no_ray_session():
    """Each test starts without a Ray session in this process and leaves none behind."""
    if ray.is_initialized():
        pytest.skip("another test left Ray initialised in this process")
    yield
    if ray.is_initialized():
        ray.shutdown()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_embedded_start_reuse_and_close() -> None:
    conn = connect(num_cpus=2, object_store_memory=SMALL)
    try:
        assert isinstance(conn, RayConnection) and conn.mode == "embedded"
        assert conn.started and conn.owns_session and ray.is_initialized()
        nodes = conn.nodes()
        assert len(nodes) == 1 and nodes[0].is_head and nodes[0].cpu == 2.0
        assert conn.total_resources()["CPU"] == 2.0
        assert max_concurrent(TrialResources(cpu=1), nodes) == 2
        with pytest.raises(ResourceError, match=r"needing \{cpu: 1, gpu: 1\}.*offer \{cpu: 2, gpu: 0\}"):
            check_feasible(TrialResources(gpu=1), nodes)

        with connect() as again:  # Ray is up in this process: reuse it, never shut it down
            assert again.mode == "reused" and not again.started and not again.owns_session
            assert again.address == conn.address
        assert ray.is_initialized()
        with pytest.raises(ClusterError, match="already connected to Ray at"):
            connect(f"127.0.0.1:{_closed_port()}")
    finally:
        conn.close()
    assert not ray.is_initialized()
    conn.close()  # idempotent


@pytest.fixture(scope="module")
def local_cluster():
    """A head (2 CPUs) and a worker node (1 CPU, custom resource 'accel') on this machine."""
    from ray._private.authentication.authentication_token_setup import (
        enable_token_auth_by_default,
        ensure_token_if_auth_enabled,
    )
    from ray.cluster_utils import Cluster

    # What ray.init does for a new local cluster: token auth on (unless RAY_AUTH_MODE says
    # otherwise) with a token in ~/.ray/auth_token; the Cluster's processes inherit it.
    enable_token_auth_by_default()
    ensure_token_if_auth_enabled({}, create_token_if_missing=True)
    cluster = Cluster(initialize_head=True, head_node_args=dict(
        num_cpus=2, object_store_memory=SMALL, include_dashboard=False))
    cluster.add_node(num_cpus=1, resources={"accel": 1}, object_store_memory=SMALL)
    yield cluster
    cluster.shutdown()


def test_join_by_address(local_cluster) -> None:
    t0 = time.monotonic()
    with connect(local_cluster.address) as conn:
        joined_in = time.monotonic() - t0
        assert conn.mode == "joined" and not conn.started and conn.owns_session
        assert conn.address == local_cluster.address
        nodes = conn.nodes()
        assert len(nodes) == 2 and [n.is_head for n in nodes] == [True, False]
        assert conn.total_resources()["CPU"] == 3.0
        accel = TrialResources(custom={"accel": 1})
        check_feasible(accel, nodes)
        assert max_concurrent(accel, nodes) == 1 and max_concurrent(TrialResources(), nodes) == 3
        with pytest.raises(ResourceError, match="accel: 2"):
            check_feasible(TrialResources(custom={"accel": 2}), nodes)
        assert ray.get(ray.remote(lambda: 42).remote()) == 42
    assert not ray.is_initialized()  # disconnected ...
    assert local_cluster.head_node.remaining_processes_alive()  # ... but the cluster keeps running
    assert joined_in < 30


def test_join_refuses_embedded_sizing(local_cluster) -> None:
    with pytest.raises(ClusterError, match="size an embedded Ray only"):
        connect(local_cluster.address, num_cpus=4)


def test_closed_port_fails_fast() -> None:
    port = _closed_port()
    t0 = time.monotonic()
    with pytest.raises(ClusterError) as info:
        connect(f"127.0.0.1:{port}", connect_timeout_s=2)
    assert time.monotonic() - t0 < 5
    msg = str(info.value)
    assert f"127.0.0.1:{port}" in msg and "connection refused" in msg and "\n" not in msg
    assert not ray.is_initialized()


def test_ray_address_env_is_joined(monkeypatch: pytest.MonkeyPatch) -> None:
    port = _closed_port()
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")
    with pytest.raises(ClusterError, match=f"cannot reach Ray at 127.0.0.1:{port}"):
        connect()


@pytest.mark.parametrize("address, words", [
    ("no-such-host.invalid:6379", "unknown host"),
    ("ray://127.0.0.1:{port}", "connection refused"),
    ("127.0.0.1:notaport", "cannot join Ray at 127.0.0.1:notaport"),
])
def test_bad_addresses(address: str, words: str) -> None:
    address = address.format(port=_closed_port())
    with pytest.raises(ClusterError, match=words):
        connect(address, connect_timeout_s=2)
