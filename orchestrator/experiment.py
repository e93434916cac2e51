"""Experiment YAML -> a validated `Experiment`.

Everything the user wrote is checked here, before anything runs, and every problem is a
one-line `BadInput`: ``file: key.path: problem`` (exit code 2 in the CLI). The validated
spec (a plain dict) is stored in the journal so `rung resume` rebuilds the same experiment
even if the YAML file changed or moved.
"""
from __future__ import annotations

import difflib
import inspect
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

from orchestrator.errors import BadInput, where
from orchestrator.references import resolve
from orchestrator.rungs import Ladder
from orchestrator.scheduler import SCHEDULER_TYPES
from orchestrator.searchers import SEARCHERS, make_searcher
from spaces import Space, SpaceError

TOP_KEYS = {
    "name", "description", "metric", "mode", "resource", "scheduler", "searcher", "stop",
    "workers", "seed", "trainable", "executor", "space",
}
REQUIRED = ("metric", "resource", "trainable", "space", "stop")
EXECUTOR_TYPES = ("simulated", "ray")
MAX_WORKERS = 100_000  # more is a typo (and would not fit in memory as worker slots)


@dataclass(frozen=True)
class ResourceSpec:
    name: str
    min: float
    max: float
    reduction_factor: float


@dataclass(frozen=True)
class StopSpec:
    trials: int | None = None
    wall_seconds: float | None = None
    total_resource: float | None = None


@dataclass
class Experiment:
    """A validated experiment: what to search, how, where and until when."""

    name: str
    metric: str
    mode: str
    resource: ResourceSpec
    scheduler: str
    brackets: int
    searcher: str
    searcher_options: dict[str, Any]
    stop: StopSpec
    workers: int
    seed: int
    trainable_kind: str  # "blackbox" | "function"
    trainable_ref: str
    trainable_args: dict[str, Any]
    executor: str
    executor_options: dict[str, Any]
    space: Space
    source: str
    base_dir: Path
    spec: dict[str, Any] = field(repr=False)  # the validated plain-data form, stored in the journal

    @property
    def ladder(self) -> Ladder:
        r = self.resource
        return Ladder.build(r.min, r.max, r.reduction_factor, self.brackets)

    def load_trainable(self) -> Callable[..., Any]:
        """Import the trainable; call factories/classes with `args` to get the callable."""
        key = f"trainable.{self.trainable_kind}"
        obj = resolve(self.trainable_ref, self.source, key, self.base_dir)
        if self.trainable_kind == "blackbox" and (self.trainable_args or _is_factory(obj)):
            try:
                obj = obj(**self.trainable_args)
            except TypeError as err:
                raise BadInput(_args_problem(self.source, self.trainable_ref, obj, self.trainable_args, err)) from None
            except (OSError, ValueError, KeyError) as err:
                raise BadInput(where(self.source, "trainable.args", str(err).splitlines()[0] if str(err) else repr(err))) from None
            except Exception as err:  # the user's factory failed: still their input to fix, not a rung bug
                raise BadInput(where(self.source, "trainable.args", f"{self.trainable_ref}(...) raised "
                                     f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}")) from None
            if not callable(obj):
                raise BadInput(where(self.source, key, f"{self.trainable_ref}(...) did not return a callable"))
        if self.trainable_kind == "blackbox":
            self._check_blackbox_fits(obj)
        return obj

    def _check_blackbox_fits(self, bb: Any) -> None:
        """A blackbox that declares its space and resource range (trainables.blackboxes.Blackbox)
        must be given every parameter it needs, inside its box, at resources it can evaluate;
        otherwise every trial would fail and the search would end with nothing to show."""
        ref, source = self.trainable_ref, self.source
        needs = getattr(bb, "space", None)
        if isinstance(needs, Mapping):
            ours = self.space.to_dict()
            missing = [n for n in needs if n not in ours]
            if missing:
                raise BadInput(where(source, "space", f"has no parameter {', '.join(map(repr, missing))}, which {ref} "
                                     f"needs (it takes: {', '.join(needs)})"))
            for n, spec in needs.items():
                mine = ours[n]
                if not (isinstance(spec, Mapping) and isinstance(spec.get("low"), (int, float))
                        and isinstance(spec.get("high"), (int, float))):
                    continue
                lo, hi = float(spec["low"]), float(spec["high"])
                tol = 1e-9 * max(abs(lo), abs(hi), 1.0)
                if "low" in mine and "high" in mine:
                    if mine["low"] < lo - tol or mine["high"] > hi + tol:
                        raise BadInput(where(source, f"space.{n}", f"[{mine['low']:g}, {mine['high']:g}] is outside "
                                             f"the range {ref} accepts, [{lo:g}, {hi:g}]"))
                    continue
                values = [mine["value"]] if "value" in mine else list(mine.get("values", [True, False]))
                for value in values:
                    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo - tol <= value <= hi + tol:
                        shown = repr(value) if not isinstance(value, bool) else str(value).lower()
                        raise BadInput(where(source, f"space.{n}", f"{ref} takes numbers in [{lo:g}, {hi:g}], "
                                             f"got the value {shown}"))
        r_min, r_max = getattr(bb, "resource_min", None), getattr(bb, "resource_max", None)
        unit = getattr(bb, "resource_name", None) or self.resource.name
        if isinstance(r_min, int) and isinstance(r_max, int) and not isinstance(r_min, bool):
            if self.resource.min < r_min:
                raise BadInput(where(source, "resource.min", f"{self.resource.min:g} is below the smallest {unit} "
                                     f"{ref} can evaluate ({r_min})"))
            if self.resource.max > r_max:
                raise BadInput(where(source, "resource.max", f"{self.resource.max:g} is beyond the largest {unit} "
                                     f"{ref} can evaluate ({r_max})"))
            levels = self.ladder.levels
            if any(float(level) != int(level) for level in levels):
                shown = ", ".join(f"{level:g}" for level in levels)
                raise BadInput(where(source, "resource.reduction_factor", f"gives rungs at {shown}, but {ref} takes "
                                     f"whole {unit}s; use an integer reduction_factor and integer min"))


def _args_problem(source: str, ref: str, factory: Any, args: Mapping[str, Any], err: TypeError) -> str:
    """One line for a TypeError from ``factory(**args)``: name the unaccepted argument when known."""
    match = re.search(r"unexpected keyword argument '([^']+)'", str(err))
    if match and match.group(1) in args:
        name = match.group(1)
        try:
            params = list(inspect.signature(factory).parameters.values())
        except (TypeError, ValueError):
            params = []
        accepted = [p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        more = any(p.kind == p.VAR_KEYWORD for p in params)  # passes **kwargs on: the list is partial
        close = difflib.get_close_matches(name, accepted, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else (
            f"; it takes: {', '.join(accepted)}" if accepted and not more else "")
        return where(source, f"trainable.args.{name}", f"not accepted by {ref}{hint}")
    return where(source, "trainable.args", f"{ref}: {err}")


def _is_factory(obj: Any) -> bool:
    """A class, or a function none of whose parameters is required (``mf_branin(noise=0.0, ...)``):
    called (with ``trainable.args``) to build the blackbox. A blackbox itself needs
    ``(config, resource)``, so calling a factory as the objective would fail every trial."""
    if inspect.isclass(obj):
        return True
    try:
        params = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        return False
    required = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                inspect.Parameter.KEYWORD_ONLY)
    return inspect.isfunction(obj) and not any(p.kind in required and p.default is p.empty for p in params)


# ----------------------------------------------------------------------------- loading
def load_experiment(path: str | Path, overrides: Mapping[str, Any] | None = None,
                    executor_address: str | None = None) -> Experiment:
    """Read and validate an experiment YAML file; `overrides` replace top-level keys (CLI flags),
    `executor_address` (`--address`) sets `executor.address` and implies the ray executor."""
    path = Path(path)
    source = str(path)
    data = read_yaml(path)
    for key, value in (overrides or {}).items():
        if value is not None:
            data[key] = value
    if executor_address is not None:
        ex = data.get("executor") if isinstance(data.get("executor"), dict) else {}
        data["executor"] = {**ex, "type": "ray", "address": executor_address}
    return from_dict(data, source=source, base_dir=path.resolve().parent)


def read_yaml(path: Path) -> dict[str, Any]:
    """`yaml.safe_load` a file into a mapping, with one-line errors."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"{source}: file not found") from None
    except IsADirectoryError:
        raise BadInput(f"{source}: is a directory, expected a YAML file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise BadInput(f"{source}: cannot read ({err})") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader that rejects duplicate keys
    except _DuplicateKey as err:
        raise BadInput(f"{source}: line {err.line}: duplicate key {err.key!r} (the later one would silently win)") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        loc = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise BadInput(f"{source}: {loc}YAML syntax error: {problem}") from None
    if data is None:
        raise BadInput(f"{source}: file is empty; an experiment needs at least {', '.join(REQUIRED)}")
    if not isinstance(data, dict):
        raise BadInput(f"{source}: the top level must be a mapping of keys (name, metric, ...), got {type(data).__name__}")
    return data


class _DuplicateKey(Exception):
    def __init__(self, key: Any, line: int) -> None:
        super().__init__(key)
        self.key, self.line = key, line


class _UniqueKeyLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that refuses a key given twice in one mapping (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise _DuplicateKey(key, key_node.start_mark.line + 1)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_NAME_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def from_dict(data: Mapping[str, Any], source: str = "<experiment>", base_dir: Path | None = None) -> Experiment:
    """Validate an experiment given as plain data (parsed YAML, or the journal's stored spec)."""
    base_dir = Path(base_dir) if base_dir is not None else Path.cwd()
    v = _Validator(source)
    v.keys(data, TOP_KEYS, "")
    for key in REQUIRED:
        if key not in data:
            hint = " (give at least one of trials, wall_seconds, total_resource)" if key == "stop" else ""
            raise BadInput(where(source, key, f"missing required key{hint}"))

    name = v.string(data.get("name", Path(source).stem), "name")
    if not _NAME_OK.match(name):
        raise BadInput(where(source, "name", f"use letters, digits, '.', '_' and '-' only (it names the run folder), got {name!r}"))
    metric = v.string(data["metric"], "metric")
    mode = v.choice(data.get("mode", "min"), ("min", "max"), "mode")

    res = v.mapping(data["resource"], "resource")
    v.keys(res, {"name", "min", "max", "reduction_factor"}, "resource")
    for k in ("min", "max"):
        if k not in res:
            raise BadInput(where(source, f"resource.{k}", "missing required key"))
    r_min = v.number(res["min"], "resource.min", positive=True)
    r_max = v.number(res["max"], "resource.max", positive=True)
    eta = v.number(res.get("reduction_factor", 3), "resource.reduction_factor")
    if r_max <= r_min:
        raise BadInput(where(source, "resource.max", f"must be greater than resource.min ({r_min}), got {r_max}"))
    if eta <= 1:
        raise BadInput(where(source, "resource.reduction_factor", f"must be greater than 1, got {eta}"))
    resource = ResourceSpec(v.string(res.get("name", "epoch"), "resource.name"), r_min, r_max, eta)
    num_levels = len(Ladder.build(r_min, r_max, eta).levels)

    sched = v.mapping(data.get("scheduler", {}), "scheduler")
    v.keys(sched, {"type", "brackets"}, "scheduler")
    scheduler = v.choice(sched.get("type", "promotion"), SCHEDULER_TYPES, "scheduler.type")
    brackets = v.integer(sched.get("brackets", 1), "scheduler.brackets", minimum=1)
    if brackets > num_levels:
        raise BadInput(where(source, "scheduler.brackets",
                             f"at most {num_levels} (the number of rungs from {r_min} to {r_max} with reduction_factor {eta}), got {brackets}"))

    srch = v.mapping(data.get("searcher", {}), "searcher")
    searcher = v.choice(srch.get("type", "random"), tuple(SEARCHERS), "searcher.type")
    searcher_options = {k: val for k, val in srch.items() if k != "type"}
    v.keys(searcher_options, set(SEARCHERS[searcher].options), "searcher", what=f"option of the {searcher} searcher")

    stop_raw = v.mapping(data["stop"], "stop")
    v.keys(stop_raw, {"trials", "wall_seconds", "total_resource"}, "stop")
    if not stop_raw:
        raise BadInput(where(source, "stop", "give at least one of trials, wall_seconds, total_resource"))
    stop = StopSpec(
        trials=v.integer(stop_raw["trials"], "stop.trials", minimum=1) if "trials" in stop_raw else None,
        wall_seconds=v.number(stop_raw["wall_seconds"], "stop.wall_seconds", positive=True) if "wall_seconds" in stop_raw else None,
        total_resource=v.number(stop_raw["total_resource"], "stop.total_resource", positive=True) if "total_resource" in stop_raw else None,
    )

    workers = v.integer(data.get("workers", 4), "workers", minimum=1, maximum=MAX_WORKERS)
    seed = v.integer(data.get("seed", 0), "seed", minimum=0)

    tr = v.mapping(data["trainable"], "trainable")
    v.keys(tr, {"function", "blackbox", "args"}, "trainable")
    kinds = [k for k in ("function", "blackbox") if k in tr]
    if len(kinds) != 1:
        raise BadInput(where(source, "trainable", "give exactly one of 'function' (real training) or 'blackbox' (simulated benchmark)"))
    trainable_kind = kinds[0]
    trainable_ref = v.string(tr[trainable_kind], f"trainable.{trainable_kind}")
    trainable_args = dict(v.mapping(tr.get("args", {}), "trainable.args"))

    ex = v.mapping(data.get("executor", {}), "executor")
    default_executor = "simulated" if trainable_kind == "blackbox" else "ray"
    executor = v.choice(ex.get("type", default_executor), EXECUTOR_TYPES, "executor.type")
    executor_options = {k: val for k, val in ex.items() if k != "type"}
    if executor == "simulated":
        v.keys(executor_options, set(), "executor", what="option of the simulated executor")
        if trainable_kind != "blackbox":
            raise BadInput(where(source, "executor.type",
                                 "the simulated executor replays blackboxes; use trainable.blackbox, or executor.type: ray for trainable.function"))
    else:
        v.keys(executor_options, set(RAY_OPTIONS), "executor", what="option of the ray executor")
        if trainable_kind != "function":
            raise BadInput(where(source, "executor.type",
                                 "the ray executor trains trainable.function; blackboxes run on executor.type: simulated"))
        executor_options = _ray_options(v, executor_options)

    try:
        space = Space.from_dict(v.mapping(data["space"], "space"), source=source, key="space", base_dir=base_dir)
    except SpaceError as err:
        raise BadInput(str(err)) from None
    try:  # building the searcher checks its options' values (cheap: searchers fit lazily)
        make_searcher(searcher, space, mode, searcher_options, Ladder.build(r_min, r_max, eta).levels)
    except (TypeError, ValueError) as err:
        raise BadInput(where(source, "searcher", f"{searcher} searcher: {str(err).splitlines()[0]}")) from None

    spec = {
        "name": name, "metric": metric, "mode": mode,
        "resource": {"name": resource.name, "min": r_min, "max": r_max, "reduction_factor": eta},
        "scheduler": {"type": scheduler, "brackets": brackets},
        "searcher": {"type": searcher, **searcher_options},
        "stop": {k: val for k, val in vars(stop).items() if val is not None},
        "workers": workers, "seed": seed,
        "trainable": {trainable_kind: trainable_ref, **({"args": trainable_args} if trainable_args else {})},
        "executor": {"type": executor, **executor_options},
        "space": space.to_dict(),
    }
    if "description" in data:
        spec["description"] = v.string(data["description"], "description")
    exp = Experiment(
        name=name, metric=metric, mode=mode, resource=resource, scheduler=scheduler, brackets=brackets,
        searcher=searcher, searcher_options=searcher_options, stop=stop, workers=workers, seed=seed,
        trainable_kind=trainable_kind, trainable_ref=trainable_ref, trainable_args=trainable_args,
        executor=executor, executor_options=executor_options, space=space, source=source,
        base_dir=base_dir, spec=spec,
    )
    return exp


RAY_OPTIONS = {
    "address": "Ray cluster address ('auto', host:port, ray://...); default: an embedded local Ray",
    "resources_per_trial": "cpu, gpu, memory and custom Ray resources of one trial",
    "storage": "storage root for checkpoints reachable by every node (path or URI); default: the run folder",
    "max_retries": "how often a segment whose worker or node died is retried before its trial fails",
    "keep_checkpoints": "'useful' (delete those that can never be promoted) or 'all'",
}


def _ray_options(v: "_Validator", options: dict[str, Any]) -> dict[str, Any]:
    """Type-check the ray executor's options; resources are checked against the cluster later."""
    out = dict(options)
    if "address" in out and out["address"] is not None:
        out["address"] = v.string(out["address"], "executor.address")
    if "storage" in out:
        out["storage"] = v.string(out["storage"], "executor.storage")
    if "max_retries" in out:
        out["max_retries"] = v.integer(out["max_retries"], "executor.max_retries", minimum=0)
    if "keep_checkpoints" in out:
        out["keep_checkpoints"] = v.choice(out["keep_checkpoints"], ("useful", "all"), "executor.keep_checkpoints")
    res = v.mapping(out.get("resources_per_trial", {}), "executor.resources_per_trial")
    try:
        from cluster.resources import TrialResources

        TrialResources.from_mapping(res, key="executor.resources_per_trial")
    except ValueError as err:
        raise BadInput(where(v.source, "", str(err))) from None
    out["resources_per_trial"] = dict(res)
    return out


class _Validator:
    """Type checks that raise one-line `BadInput`s naming the source and key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> BadInput:
        return BadInput(where(self.source, key, problem))

    def keys(self, mapping: Mapping[str, Any], allowed: set[str], prefix: str, what: str = "key") -> None:
        for key in mapping:
            if key not in allowed:
                path = f"{prefix}.{key}" if prefix else str(key)
                close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else (
                    f"; allowed: {', '.join(sorted(allowed))}" if allowed else "; it takes no options")
                raise self.fail(path, f"unknown {what}{hint}")

    def mapping(self, value: Any, key: str) -> Mapping[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.fail(key, f"expected a mapping, got {type(value).__name__} {value!r}")
        return value

    def string(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"expected a non-empty string, got {value!r}")
        return value

    def choice(self, value: Any, options: tuple[str, ...], key: str) -> str:
        if value not in options:
            raise self.fail(key, f"must be one of {', '.join(options)}, got {value!r}")
        return value

    def number(self, value: Any, key: str, positive: bool = False) -> float | int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.fail(key, f"expected a number, got {value!r}")
        if positive and value <= 0:
            raise self.fail(key, f"must be greater than 0, got {value!r}")
        return value

    def integer(self, value: Any, key: str, minimum: int | None = None, maximum: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"expected an integer, got {value!r}")
        if minimum is not None and value < minimum:
            raise self.fail(key, f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise self.fail(key, f"must be at most {maximum}, got {value}")
        return value
