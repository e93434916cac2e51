"""resources_per_trial: parsing with one-line errors, Ray options, and per-node feasibility.

Feasibility runs against fake node lists (plain mappings in Ray's resource names), so these
tests need no Ray.
"""
from __future__ import annotations

import pickle

import pytest

from cluster.resources import (
    ResourceError,
    TrialResources,
    check_feasible,
    feasible_nodes,
    max_concurrent,
    parse_memory,
)

KEY = "executor.resources_per_trial"
GiB = 2**30


def test_defaults() -> None:
    for data in (None, {}):
        res = TrialResources.from_mapping(data)
        assert (res.cpu, res.gpu, res.memory, res.custom) == (1.0, 0.0, None, {})
    assert TrialResources.from_mapping({}).ray_options() == {"num_cpus": 1.0, "num_gpus": 0.0}


def test_full_mapping_and_ray_options() -> None:
    res = TrialResources.from_mapping({"cpu": 2, "gpu": 0.5, "memory": "2GiB", "custom": {"tpu": 1, "zero": 0}})
    assert res.ray_options() == {"num_cpus": 2.0, "num_gpus": 0.5, "memory": 2 * GiB, "resources": {"tpu": 1.0}}
    assert res.requirements() == {"CPU": 2.0, "GPU": 0.5, "memory": float(2 * GiB), "tpu": 1.0}
    assert res.describe() == "{cpu: 2, gpu: 0.5, memory: 2GiB, tpu: 1}"


@pytest.mark.parametrize("text, expected", [
    ("2GiB", 2 * GiB), ("512MB", 512 * 10**6), ("512mib", 512 * 2**20), ("1.5G", int(1.5 * GiB)),
    ("1000", 1000), (4096, 4096), ("10 KB", 10_000),
])
def test_memory_sizes(text, expected) -> None:
    assert parse_memory(text) == expected


@pytest.mark.parametrize("data, key, words", [
    ({"gpu": -1}, "gpu", "must be >= 0, got -1"),
    ({"cpu": 0}, "cpu", "must be > 0"),
    ({"cpu": "two"}, "cpu", "must be a number"),
    ({"gpu": True}, "gpu", "must be a number"),
    ({"gpu": 1.5}, "gpu", "must be whole"),
    ({"cpu": 0.00001}, "cpu", "steps of 0.0001"),
    ({"memory": "2 parsecs"}, "memory", "unknown unit"),
    ({"memory": -5}, "memory", "must be > 0"),
    ({"memory": [1]}, "memory", "size like"),
    ({"custom": {"tpu": -1}}, "custom.tpu", "must be >= 0"),
    ({"custom": {"GPU": 1}}, "custom.GPU", "not a custom resource"),
    ({"custom": [1]}, "custom", "must be a mapping"),
    ({"gpus": 1}, "gpus", "unknown key"),
])
def test_errors_name_the_key(data, key, words) -> None:
    with pytest.raises(ResourceError) as info:
        TrialResources.from_mapping(data)
    msg = str(info.value)
    assert msg.startswith(f"{KEY}.{key}: "), msg
    assert words in msg and "\n" not in msg
    assert info.value.key == f"{KEY}.{key}"


def test_exact_gpu_message_and_pickle() -> None:
    with pytest.raises(ResourceError) as info:
        TrialResources.from_mapping({"gpu": -1})
    assert str(info.value) == "executor.resources_per_trial.gpu: must be >= 0, got -1"
    again = pickle.loads(pickle.dumps(info.value))
    assert str(again) == str(info.value) and isinstance(again, ValueError)


def test_not_a_mapping() -> None:
    with pytest.raises(ResourceError, match=r"^executor\.resources_per_trial: must be a mapping"):
        TrialResources.from_mapping([1, 2])


CPU_NODE = {"CPU": 2.0, "memory": 8.0 * GiB, "node:10.0.0.1": 1.0}
BIG_CPU_NODE = {"CPU": 8.0, "memory": 30.0 * GiB}
GPU_NODE = {"CPU": 4.0, "GPU": 2.0, "memory": 60.0 * GiB, "accel": 1.0}


def test_feasible_nodes_per_node_not_summed() -> None:
    nodes = [CPU_NODE, BIG_CPU_NODE]
    assert feasible_nodes(TrialResources(cpu=4), nodes) == [BIG_CPU_NODE]
    # 10 CPUs in total, but no single node has 9
    with pytest.raises(ResourceError, match="no node can ever run a trial needing {cpu: 9}"):
        check_feasible(TrialResources(cpu=9), nodes)


def test_gpu_infeasible_message() -> None:
    with pytest.raises(ResourceError) as info:
        check_feasible(TrialResources(gpu=1), [CPU_NODE, BIG_CPU_NODE, BIG_CPU_NODE])
    msg = str(info.value)
    assert msg.startswith("executor.resources_per_trial: no node can ever run a trial needing {cpu: 1, gpu: 1}: ")
    assert "the cluster's 3 nodes offer {cpu: 2, gpu: 0}; {cpu: 8, gpu: 0} x2" in msg
    check_feasible(TrialResources(gpu=1), [CPU_NODE, GPU_NODE])  # one GPU node is enough


def test_custom_and_memory_feasibility() -> None:
    nodes = [CPU_NODE, GPU_NODE]
    assert feasible_nodes(TrialResources(custom={"accel": 0.5}), nodes) == [GPU_NODE]
    assert feasible_nodes(TrialResources(memory=16 * GiB), nodes) == [GPU_NODE]
    with pytest.raises(ResourceError, match=r"memory: 100GiB.*offer .*memory: 8GiB"):
        check_feasible(TrialResources(memory=100 * GiB), nodes)
    with pytest.raises(ResourceError, match="the cluster has no alive nodes"):
        check_feasible(TrialResources(), [])


def test_node_objects_with_resources_attribute() -> None:
    class Node:
        def __init__(self, resources):
            self.resources = resources

    nodes = [Node(CPU_NODE), Node(GPU_NODE)]
    assert feasible_nodes(TrialResources(gpu=1), nodes) == [nodes[1]]


def test_max_concurrent() -> None:
    assert max_concurrent(TrialResources(cpu=1), [CPU_NODE, BIG_CPU_NODE, GPU_NODE]) == 2 + 8 + 4
    assert max_concurrent(TrialResources(cpu=1, gpu=1), [CPU_NODE, GPU_NODE]) == 2
    assert max_concurrent(TrialResources(cpu=0.1), [{"CPU": 1.0}]) == 10  # float noise absorbed
    assert max_concurrent(TrialResources(cpu=1), [{"CPU": 1.5}, {"CPU": 1.5}]) == 2  # per node, not 3
    assert max_concurrent(TrialResources(gpu=0.25), [GPU_NODE]) == 4  # cpu binds before 8 gpu shares


def test_autoscaler_node_types_make_a_trial_feasible() -> None:
    head_only = [{"CPU": 0.0, "memory": 8.0 * GiB}]  # an autoscaling cluster before any worker is up
    with pytest.raises(ResourceError, match="the cluster's 1 node offer {cpu: 0, gpu: 0}"):
        check_feasible(TrialResources(gpu=1), head_only)
    check_feasible(TrialResources(gpu=1, memory=4 * GiB), head_only, node_types=[{"CPU": 8.0}, {"CPU": 4.0, "GPU": 1.0}])
    with pytest.raises(ResourceError, match="none of the autoscaler's 1 node types fits"):
        check_feasible(TrialResources(gpu=2), head_only, node_types=[{"CPU": 4.0, "GPU": 1.0}])


def test_autoscaler_node_types_from_bootstrap_config(tmp_path) -> None:
    import json

    from cluster.connection import autoscaler_node_types

    config = {"head_node_type": "head", "available_node_types": {
        "head": {"resources": {"CPU": 0}, "max_workers": 0},
        "cpu": {"resources": {"CPU": 8}, "min_workers": 0, "max_workers": 4},
        "gpu": {"resources": {"CPU": 4, "GPU": 1}, "max_workers": 2},
        "off": {"resources": {"CPU": 64}, "max_workers": 0}}}
    path = tmp_path / "ray_bootstrap_config.yaml"
    path.write_text(json.dumps(config))  # `ray up` writes it as JSON, which YAML reads
    assert autoscaler_node_types(str(path)) == [{"CPU": 8.0}, {"CPU": 4.0, "GPU": 1.0}]
    assert autoscaler_node_types(str(tmp_path / "absent.yaml")) == []
    path.write_text("{not yaml")
    assert autoscaler_node_types(str(path)) == []
