"""What one trial needs (cpu, gpu, memory, custom Ray resources) and whether the cluster has it.

`TrialResources` is parsed from the experiment's ``executor.resources_per_trial`` mapping and
turned into the keyword arguments of Ray's ``ActorClass.options(...)``. Feasibility is checked
*per node*, not against the cluster's totals: Ray places an actor on a single node, so a trial
needing ``{gpu: 1}`` can never start on a cluster of four CPU-only nodes plus a GPU-less head,
however many CPUs they add up to. Ray itself would leave such an actor pending forever (or
until an autoscaler adds a fitting node), which to a user looks like a hang; rung refuses to
start instead, with one line saying what is needed and what the nodes offer.

Nodes are given either as objects with a ``resources`` mapping (`cluster.connection.NodeInfo`)
or as plain mappings, both in Ray's resource names (``CPU``, ``GPU``, ``memory`` in bytes,
custom names as is), so feasibility is testable with fake node lists and no Ray at all.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

__all__ = [
    "ResourceError", "TrialResources", "parse_memory", "feasible_nodes", "check_feasible", "max_concurrent",
]

DEFAULT_KEY = "executor.resources_per_trial"
KEYS = ("cpu", "gpu", "memory", "custom")

# Ray keeps resource amounts in fixed point with 4 decimals; finer fractions are refused by Ray.
_PRECISION = 1e-4
# Names Ray reserves: they are set through num_cpus/num_gpus/memory, never through `resources`.
_RESERVED = {"CPU", "GPU", "memory", "object_store_memory"}

_UNITS = {
    "": 1, "b": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
}
_MEMORY_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([a-zA-Z]*)\s*$")


class ResourceError(ValueError):
    """A resources_per_trial problem, one line: ``key: problem`` (the key path is in the text)."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem

    def __reduce__(self) -> tuple[Any, ...]:  # picklable despite the two-argument constructor
        return (type(self), (self.key, self.problem))


def _number(value: Any, key: str) -> float:
    # bool is an int in Python, but `gpu: true` is a typo, not one GPU
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ResourceError(key, f"must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ResourceError(key, f"must be a finite number, got {value!r}")
    return float(value)


def _check_precision(amount: float, key: str) -> None:
    if amount > 0 and abs(round(amount / _PRECISION) * _PRECISION - amount) > 1e-9:
        raise ResourceError(key, f"Ray counts resources in steps of {_PRECISION:g}, got {amount!r}")


def parse_memory(value: Any, key: str = "memory") -> int:
    """Bytes from an int or a string like ``"2GiB"``, ``"512MB"``, ``"1.5G"``.

    KB/MB/GB/TB are decimal (10**3...), KiB/MiB/GiB/TiB and the bare K/M/G/T are binary
    (2**10...), matching how people usually write RAM sizes; units are case-insensitive.
    """
    if isinstance(value, bool):
        raise ResourceError(key, f"must be a number of bytes or a size like '2GiB', got {value!r}")
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value <= 0:
            raise ResourceError(key, f"must be > 0 bytes, got {value!r}")
        return int(value)
    if isinstance(value, str):
        m = _MEMORY_RE.match(value)
        if m:
            unit = m.group(2).lower()
            if unit not in _UNITS:
                raise ResourceError(key, f"unknown unit {m.group(2)!r} in {value!r}; use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB")
            amount = int(float(m.group(1)) * _UNITS[unit])
            if amount <= 0:
                raise ResourceError(key, f"must be > 0 bytes, got {value!r}")
            return amount
    raise ResourceError(key, f"must be a number of bytes or a size like '2GiB' or '512MB', got {value!r}")


def format_bytes(amount: float) -> str:
    """``25769803776`` -> ``'24GiB'``: sizes in messages people read."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if amount >= scale:
            return f"{amount / scale:.3g}{unit}"
    return f"{int(amount)}B"


def _fmt(x: float) -> str:
    return f"{x:g}"


@dataclass(frozen=True)
class TrialResources:
    """The resources one trial (one worker actor) holds while it runs.

    cpu: logical CPUs (> 0; fractions allowed); Ray does not pin cores, the trainable's thread
    count is what really limits CPU use. gpu: GPUs (>= 0; a fraction below 1 shares a GPU,
    above 1 it must be whole). memory: bytes reserved in Ray's logical ``memory`` resource
    (a scheduling hint Ray does not enforce), or None for no reservation. custom: extra Ray
    resources by name (e.g. ``{accelerator_type:A100: 0.01}`` or a label resource of a node type).
    """

    cpu: float = 1.0
    gpu: float = 0.0
    memory: int | None = None
    custom: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None, key: str = DEFAULT_KEY) -> "TrialResources":
        """Validate the YAML mapping; every problem is one `ResourceError` naming ``key.sub``."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise ResourceError(key, f"must be a mapping like {{cpu: 1, gpu: 0}}, got {type(data).__name__} {data!r}")
        for name in data:
            if name not in KEYS:
                raise ResourceError(f"{key}.{name}", f"unknown key; expected one of {', '.join(KEYS)}"
                                    " (other Ray resources go under custom)")
        cpu = _number(data.get("cpu", 1), f"{key}.cpu")
        if cpu <= 0:
            raise ResourceError(f"{key}.cpu", f"must be > 0, got {data.get('cpu')!r}")
        _check_precision(cpu, f"{key}.cpu")
        gpu = _number(data.get("gpu", 0), f"{key}.gpu")
        if gpu < 0:
            raise ResourceError(f"{key}.gpu", f"must be >= 0, got {data.get('gpu')!r}")
        if gpu > 1 and gpu != int(gpu):
            raise ResourceError(f"{key}.gpu", f"a fraction shares one GPU, so it must be below 1; more than one must be whole, got {gpu:g}")
        _check_precision(gpu, f"{key}.gpu")
        memory = None
        if data.get("memory") is not None:
            memory = parse_memory(data["memory"], f"{key}.memory")
        custom_in = data.get("custom") or {}
        if not isinstance(custom_in, Mapping):
            raise ResourceError(f"{key}.custom", f"must be a mapping of resource name to amount, got {custom_in!r}")
        custom: dict[str, float] = {}
        for name, amount in custom_in.items():
            where = f"{key}.custom.{name}"
            if not isinstance(name, str) or not name.strip():
                raise ResourceError(f"{key}.custom", f"resource names must be non-empty strings, got {name!r}")
            if name in _RESERVED or name.lower() in {"cpu", "gpu", "memory"}:
                raise ResourceError(where, f"{name!r} is not a custom resource; cpu, gpu and memory have their own keys"
                                           f" ({key}.cpu, .gpu, .memory); object store memory is not reserved per trial")
            value = _number(amount, where)
            if value < 0:
                raise ResourceError(where, f"must be >= 0, got {amount!r}")
            _check_precision(value, where)
            if value > 0:
                custom[name] = value
        return cls(cpu=cpu, gpu=gpu, memory=memory, custom=custom)

    # Ray's names for what a node must have, used by the feasibility checks.
    def requirements(self) -> dict[str, float]:
        """What a node must offer, in Ray's resource names (only amounts > 0)."""
        need: dict[str, float] = {"CPU": self.cpu}
        if self.gpu > 0:
            need["GPU"] = self.gpu
        if self.memory:
            need["memory"] = float(self.memory)
        need.update(self.custom)
        return need

    def ray_options(self) -> dict[str, Any]:
        """Keyword arguments for ``ray.remote(Cls).options(**...)`` (or ``Cls.options``)."""
        opts: dict[str, Any] = {"num_cpus": self.cpu, "num_gpus": self.gpu}
        if self.memory:
            opts["memory"] = int(self.memory)
        if self.custom:
            opts["resources"] = dict(self.custom)
        return opts

    def describe(self) -> str:
        """YAML-like one-liner for messages, e.g. ``{cpu: 1, gpu: 1, memory: 2GiB}``."""
        parts = [f"cpu: {_fmt(self.cpu)}"]
        if self.gpu:
            parts.append(f"gpu: {_fmt(self.gpu)}")
        if self.memory:
            parts.append(f"memory: {format_bytes(self.memory)}")
        parts += [f"{name}: {_fmt(v)}" for name, v in sorted(self.custom.items())]
        return "{" + ", ".join(parts) + "}"


# ---------------------------------------------------------------------------- feasibility
def _resources_of(node: Any) -> Mapping[str, float]:
    res = getattr(node, "resources", node)
    if not isinstance(res, Mapping):
        raise TypeError(f"a node must be a mapping of resources or have .resources, got {type(node).__name__}")
    return res


def _fits(need: Mapping[str, float], have: Mapping[str, float]) -> int:
    """How many trials needing `need` fit on one empty node offering `have`."""
    count = math.inf
    for name, amount in need.items():
        if amount <= 0:
            continue
        # the epsilon absorbs float noise such as 1.0 / 0.1 = 9.999...
        count = min(count, math.floor(float(have.get(name, 0.0)) / amount + 1e-9))
        if count == 0:
            return 0
    return 0 if count is math.inf else int(count)


def feasible_nodes(res: TrialResources, nodes: Iterable[Any]) -> list[Any]:
    """The nodes (as given) on which one trial fits when the node is otherwise idle."""
    need = res.requirements()
    return [node for node in nodes if _fits(need, _resources_of(node)) >= 1]


def _offer(res: TrialResources, have: Mapping[str, float]) -> str:
    """What a node offers, restricted to the resource kinds the trial asks for (plus cpu/gpu)."""
    parts = [f"cpu: {_fmt(have.get('CPU', 0.0))}", f"gpu: {_fmt(have.get('GPU', 0.0))}"]
    if res.memory:
        parts.append(f"memory: {format_bytes(have.get('memory', 0.0))}")
    parts += [f"{name}: {_fmt(have.get(name, 0.0))}" for name in sorted(res.custom)]
    return "{" + ", ".join(parts) + "}"


def check_feasible(res: TrialResources, nodes: Sequence[Any], key: str = DEFAULT_KEY,
                   node_types: Sequence[Mapping[str, float]] = ()) -> None:
    """Raise `ResourceError` when no single node can ever run one trial.

    Checks the nodes' *total* resources (what they have when idle), not what is free now:
    busy nodes free up, missing kinds never appear. On an autoscaling cluster, pass the node
    types the autoscaler may still launch as `node_types` (resource mappings, e.g. from
    `cluster.connection.autoscaler_node_types()`): a trial that fits one of them is feasible
    even while no such node is up. A node type that does not state ``memory`` is not held
    to a memory request (the autoscaler's config rarely states it).
    """
    nodes = list(nodes)
    if feasible_nodes(res, nodes):
        return
    need = res.requirements()
    for kind in node_types:
        kind_need = {k: v for k, v in need.items() if k != "memory" or "memory" in kind}
        if _fits(kind_need, kind) >= 1:
            return
    if not nodes and not node_types:
        raise ResourceError(key, f"no node can ever run a trial needing {res.describe()}: the cluster has no alive nodes")
    offers: dict[str, int] = {}
    for node in nodes:
        text = _offer(res, _resources_of(node))
        offers[text] = offers.get(text, 0) + 1
    shown = [f"{text} x{n}" if n > 1 else text for text, n in list(offers.items())[:4]]
    if len(offers) > 4:
        shown.append(f"and {len(offers) - 4} more kinds")
    plural = "s" if len(nodes) != 1 else ""
    text = f"the cluster's {len(nodes)} node{plural} offer {'; '.join(shown)}" if nodes else "no node is up"
    if node_types:
        text += f", and none of the autoscaler's {len(node_types)} node types fits ({'; '.join(_offer(res, t) for t in node_types[:4])})"
    raise ResourceError(key, f"no node can ever run a trial needing {res.describe()}: {text}")


def max_concurrent(res: TrialResources, nodes: Iterable[Any]) -> int:
    """How many trials run at once on these nodes when nothing else uses them.

    Summed per node (a trial never spans nodes), so 2 nodes with 1.5 CPUs each hold 2 trials
    of 1 CPU, not 3. A sensible default for the number of worker slots.
    """
    need = res.requirements()
    return sum(_fits(need, _resources_of(node)) for node in nodes)
