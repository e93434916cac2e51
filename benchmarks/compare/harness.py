"""The comparison harness: one simulated clock, N virtual workers, any method over protocol.md.

Why a harness separate from rung's SimulatedExecutor: the executor drives rung's own loop in
process, while a fair comparison must drive *every* method (rung's and the peers', each in its
own virtual environment) through identical workers, timing and budgets. The harness therefore
owns time and workers and only asks each method "what next?" and tells it results.

Time follows rung's simulator (orchestrator/executors/simulated.py): a blackbox returns the
cumulative training seconds ``elapsed`` to reach a resource level, so continuing a trial from its
checkpoint at level a to level b takes ``elapsed(b) - elapsed(a)`` simulated seconds; events are
kept in a heap and handled in time order. A worker is busy from the moment its evaluation starts
until the method answers ``{"continue": false}`` to that evaluation's result.

Decision time: every ask/tell reply is timed in real seconds. With ``charge_decision_time`` the
harness advances the virtual clock by that time before acting on the reply (as Syne Tune's
simulator backend does), so a method that thinks slowly delays every worker waiting on it; by
default time is purely simulated and decision time is only reported.
"""
from __future__ import annotations

import heapq
import itertools
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from protocol import PROTOCOL_VERSION, MethodProcess, ProtocolError, space_differences  # noqa: E402
from spaces import Space  # noqa: E402

ETA = 3  # reduction factor handed to every method (rung's default, Syne Tune's and Optuna's too)

RUNG_METHOD = HERE / "methods" / "rung_method.py"
OPTUNA_METHOD = HERE / "methods" / "optuna_method.py"
SYNETUNE_METHOD = HERE / "methods" / "synetune_method.py"
DEHB_METHOD = HERE / "methods" / "dehb_method.py"
SMAC_METHOD = HERE / "methods" / "smac_method.py"
ENVS = HERE / ".envs"

# name -> (peer env or None for rung's own interpreter, script, extra arguments)
METHODS: dict[str, tuple[str | None, Path, list[str]]] = {
    "rung-random-asha": (None, RUNG_METHOD, ["--searcher", "random", "--scheduler", "promotion"]),
    "rung-random-asha-stop": (None, RUNG_METHOD, ["--searcher", "random", "--scheduler", "stopping"]),
    "rung-random-full": (None, RUNG_METHOD, ["--searcher", "random", "--full-budget"]),
    "rung-gp": (None, RUNG_METHOD, ["--searcher", "gp", "--scheduler", "promotion"]),
    "rung-gp-stop": (None, RUNG_METHOD, ["--searcher", "gp", "--scheduler", "stopping"]),
    "rung-tpe": (None, RUNG_METHOD, ["--searcher", "tpe", "--scheduler", "promotion"]),
    "rung-tpe-stop": (None, RUNG_METHOD, ["--searcher", "tpe", "--scheduler", "stopping"]),
    "optuna": ("optuna", OPTUNA_METHOD, []),
    "synetune-asha": ("synetune", SYNETUNE_METHOD, ["--searcher", "random"]),
    "synetune-mobster": ("synetune", SYNETUNE_METHOD, ["--searcher", "bayesopt"]),
    "dehb": ("dehb", DEHB_METHOD, []),
    "smac": ("smac", SMAC_METHOD, []),
}
BASELINE = "rung-random-asha"  # its final best is the time-to-target target


class Refused(ProtocolError):
    """The method's space, resource ladder or budget differs from the harness's: no run."""


def method_command(name: str) -> list[str]:
    """The command line of a named method (peers run with their own env's interpreter)."""
    if name not in METHODS:
        raise KeyError(f"unknown method {name!r}; choose from {', '.join(METHODS)}")
    env, script, extra = METHODS[name]
    if env is None:
        python = sys.executable
    else:
        python = str(ENVS / env / "bin" / "python")
        if not Path(python).exists():
            raise FileNotFoundError(f"{name}: no env at {ENVS / env}; run benchmarks/compare/make_envs.sh {env}")
    return [python, str(script), *extra]


# ----------------------------------------------------------------------------- benchmarks
@dataclass
class Benchmark:
    """A blackbox plus what every method is told about it."""

    name: str
    blackbox: Any  # trainables.blackboxes.Blackbox
    eta: int = ETA

    @property
    def space(self) -> dict[str, dict[str, Any]]:
        """The fully resolved flat space (``Space.to_dict``), what methods receive."""
        return Space.from_dict(self.blackbox.space, source=self.name).to_dict()

    @property
    def resource(self) -> dict[str, int]:
        return {"min": int(self.blackbox.resource_min), "max": int(self.blackbox.resource_max), "eta": self.eta}


def load_benchmark(spec: str) -> Benchmark:
    """``hartmann6``, ``branin`` or ``lcbench:<task>`` (needs the YAHPO LCBench surrogate)."""
    from trainables.blackboxes import lcbench, mf_branin, mf_hartmann6

    if spec == "hartmann6":
        return Benchmark(spec, mf_hartmann6())
    if spec == "branin":
        return Benchmark(spec, mf_branin())
    if spec.startswith("lcbench:"):
        return Benchmark(spec, lcbench(spec.split(":", 1)[1]))
    raise ValueError(f"unknown benchmark {spec!r}: use hartmann6, branin or lcbench:<task>")


# ---------------------------------------------------------------------------------- records
@dataclass
class Record:
    """One result as the harness delivered it, with the regret of the best so far."""

    time: float
    trial: int
    resource: int
    value: float
    best_max: float | None  # best value at the maximum resource so far (the model one would deploy)
    regret_max: float | None
    best_any: float  # best value at any fidelity so far (MOBSTER's / Syne Tune's plots)
    regret_any: float | None


@dataclass
class RunResult:
    benchmark: str
    method: str
    workers: int
    seed: int
    budget: float
    charged: bool
    records: list[Record] = field(default_factory=list)
    ask_seconds: list[float] = field(default_factory=list)  # real time per ask reply
    tell_seconds: list[float] = field(default_factory=list)  # real time per tell reply
    trials: int = 0
    end_time: float = 0.0  # simulated time when the run ended (budget, or the method had nothing left)
    ended: str = ""  # "budget" | "idle" | "trials" (max_trials started)
    wall_seconds: float = 0.0
    method_info: dict[str, Any] = field(default_factory=dict)

    def final_regret(self, key: str = "regret_max") -> float | None:
        values = [getattr(r, key) for r in self.records if getattr(r, key) is not None]
        return values[-1] if values else None

    def time_to(self, target: float, key: str = "regret_max") -> float:
        """First simulated time the regret of the best so far is <= target (inf if never)."""
        for r in self.records:
            v = getattr(r, key)
            if v is not None and v <= target:
                return r.time
        return math.inf


@dataclass
class _Trial:
    config: dict[str, Any]
    level: int = 0
    running: bool = False


# ---------------------------------------------------------------------------------- harness
def run(benchmark: Benchmark, command: Sequence[str], *, workers: int, seed: int, budget: float,
        charge_decision_time: bool = False, method: str | None = None, stderr: Any = None,
        max_trials: int | None = None) -> RunResult:
    """Drive one method process over the benchmark for `budget` simulated seconds.

    ``max_trials`` also ends the run once that many trials have started (``ended="trials"``);
    the suite uses it to calibrate a budget as the time random + ASHA needs for N trials.
    """
    bb = benchmark.blackbox
    space_spec = benchmark.space
    space = Space.from_dict(space_spec, source=benchmark.name)
    resource = benchmark.resource
    sign = 1.0 if bb.mode == "min" else -1.0
    regret = _regret_fn(bb)
    result = RunResult(benchmark.name, method or " ".join(command[-4:]), workers, seed, float(budget),
                       charge_decision_time)
    wall0 = time.perf_counter()
    heap: list[tuple[float, int, int, int, float]] = []  # (time, order, trial, resource, value)
    order = itertools.count()
    trials: dict[int, _Trial] = {}
    clock = 0.0
    free = workers
    best_max: float | None = None
    best_any: float | None = None

    def start(trial: int, target: Any, now: float) -> None:
        t = trials[trial]
        target = bb.check_resource(target)
        if target <= t.level:
            raise ProtocolError(f"trial {trial}: resource {target} is not above its level {t.level}")
        levels = ([t.level] if t.level > 0 else []) + [target]
        metrics = bb.curve(t.config, levels)
        base = float(metrics[0].get("elapsed", t.level)) if t.level > 0 else 0.0
        end = metrics[-1]
        cost = max(0.0, float(end.get("elapsed", target)) - base)
        value = float(end[bb.metric])
        t.running = True
        heapq.heappush(heap, (now + cost, next(order), trial, target, value))

    proc = MethodProcess(command, stderr=stderr)
    try:
        init = {"op": "init", "version": PROTOCOL_VERSION, "space": space_spec, "resource": resource,
                "metric": bb.metric, "mode": bb.mode, "seed": seed, "workers": workers,
                "budget": {"seconds": float(budget)}}
        reply = proc.request(init)  # not timed into the clock: imports and setup are not decisions
        _verify_init(reply, space, space_spec, resource, float(budget))
        result.method_info = {k: v for k, v in reply.items() if k not in ("space",)}
        while True:
            while free > 0 and clock < budget and (max_trials is None or len(trials) < max_trials):
                reply = proc.request({"op": "ask"})
                result.ask_seconds.append(proc.last_seconds)
                if charge_decision_time:
                    clock += proc.last_seconds
                if reply.get("wait"):
                    break
                trial = int(reply["trial"])
                if trial not in trials:
                    config = dict(reply["config"])
                    space.validate(config, source=f"{result.method} trial {trial}")
                    trials[trial] = _Trial(config)
                elif trials[trial].running:
                    raise ProtocolError(f"trial {trial} was asked to start while it is running")
                start(trial, reply["resource"], clock)
                free -= 1
            if max_trials is not None and len(trials) >= max_trials:
                result.ended = "trials"
                break
            if not heap or clock >= budget:
                result.ended = "budget" if clock >= budget else "idle"
                break
            t_event, _, trial, level, value = heapq.heappop(heap)
            if t_event > budget:
                clock, result.ended = float(budget), "budget"
                break
            clock = max(clock, t_event)
            tr = trials[trial]
            tr.level = level
            if not math.isfinite(value):
                raise ProtocolError(f"blackbox returned {value} for trial {trial} at {level}")
            signed = sign * value
            if best_any is None or signed < best_any:
                best_any = signed
            if level == resource["max"] and (best_max is None or signed < best_max):
                best_max = signed
            bm = None if best_max is None else sign * best_max
            result.records.append(Record(clock, trial, level, value, bm, regret(bm), sign * best_any,
                                         regret(sign * best_any)))
            reply = proc.request({"op": "tell", "trial": trial, "resource": level, "value": value})
            result.tell_seconds.append(proc.last_seconds)
            if charge_decision_time:
                clock += proc.last_seconds
            if reply.get("continue"):
                start(trial, reply["resource"], clock)  # the worker stays with this trial
            else:
                tr.running = False
                free += 1
        result.end_time = min(clock, float(budget))
    finally:
        proc.close()
    result.trials = len(trials)
    result.wall_seconds = time.perf_counter() - wall0
    return result


def _regret_fn(bb: Any) -> Any:
    def regret(value: float | None) -> float | None:
        if value is None:
            return None
        try:
            return bb.normalized_regret(value)
        except ValueError:
            return None

    return regret


def _verify_init(reply: Mapping[str, Any], space: Space, space_spec: Mapping[str, Any],
                 resource: Mapping[str, Any], budget: float) -> None:
    """Refuse a method whose space, ladder or budget is not the harness's (issue 5: identical budgets).

    rung methods echo ``space_fingerprint`` (``Space.fingerprint`` of the space they built);
    peers echo ``space``, the canonical spec of what they actually translated (names, types,
    bounds, log, values, conditions), compared here parameter by parameter.
    """
    problems: list[str] = []
    if "space_fingerprint" not in reply and "space" not in reply:
        problems.append("the method echoed neither space_fingerprint nor space")
    if "space_fingerprint" in reply and reply["space_fingerprint"] != space.fingerprint():
        problems.append(f"space fingerprint {reply['space_fingerprint']} != harness {space.fingerprint()}")
    if "space" in reply:
        problems += space_differences(space_spec, reply["space"])
    echoed_budget = (reply.get("budget") or {}).get("seconds")
    if echoed_budget is None or abs(float(echoed_budget) - budget) > 1e-9:
        problems.append(f"budget {echoed_budget} != harness {budget} simulated seconds")
    echoed_res = reply.get("resource")
    if echoed_res is not None and {k: float(v) for k, v in echoed_res.items()} != {k: float(v) for k, v in resource.items()}:
        problems.append(f"resource {echoed_res} != harness {dict(resource)}")
    if problems:
        raise Refused("method refused, it would not search the same problem: " + "; ".join(problems))
