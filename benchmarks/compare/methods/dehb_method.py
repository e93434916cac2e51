"""DEHB 0.1.2 peer behind the comparison protocol: Evolutionary Hyperband via DEHB's ask/tell.

Runs in its own env (benchmarks/compare/.envs/dehb, from envs/dehb.txt); it must not import
rung. DEHB (Awad, Mallik & Hutter, IJCAI 2021) runs Hyperband's successive-halving brackets and
fills every rung with differential evolution (rand1_bin, mutation 0.5, crossover 0.5: the library
defaults, the paper's settings) over one subpopulation per fidelity.

Space: rung's flat resolved space becomes a ConfigSpace ``ConfigurationSpace``: float/int ->
``UniformFloat``/``UniformInteger`` with ``log``; choice and bool -> ``Categorical``; ordinal ->
``Ordinal``; constant -> ``Constant``; ``when`` -> ``EqualsCondition`` (one value) /
``InCondition`` (several), joined by ``AndConjunction`` when a parameter has several parents.
Categorical, ordinal and constant values are stored as their JSON text (so mixed types, ``True``
vs ``1`` and list values survive ConfigSpace's hashing and typing) and decoded on the way out;
DEHB only ever sees a choice's index, so this changes nothing it searches. The echoed space is
read back from the ConfigSpace objects (hyperparameters and conditions), not from the input.
Note DEHB's own encoding: every categorical is mapped to ``index / n`` in [0, 1] and mutated as a
number, so DE implicitly orders categorical choices too; that is DEHB's behaviour, kept as is.

How it is driven (read from the installed 0.1.2 sources, ``dehb/optimizers/dehb.py``):

* ``DEHB(cs, min_fidelity=min, max_fidelity=max, eta=eta, seed=seed, n_workers=1)``, then
  ``n_workers`` is set to the harness's worker count. ``n_workers`` only sizes the local Dask
  cluster that ``DEHB.run`` submits objective calls to (one process per worker); ``ask``/``tell``
  never read it. Constructing with ``n_workers=workers`` would start that many idle Dask worker
  processes, so the harness's virtual workers play the Dask workers' role instead.
* Asynchronous: ``ask`` never blocks or refuses with results outstanding. It picks the first
  active bracket that is not waiting for a lower rung's results (DEHB's brackets are synchronous
  successive halving inside, asynchronous across brackets) and starts a new Hyperband bracket when
  every active one is waiting. That is what ``DEHB.run`` does with Dask workers: ask whenever a
  worker is free, tell whenever a result arrives. So every protocol ``ask`` is one ``DEHB.ask``;
  this peer never replies ``{"wait": true}``. After each ``tell``, finished brackets are dropped
  (``_clean_inactive_brackets``) exactly as ``DEHB.run``'s loop does after collecting results.
* One DEHB job = one evaluation at one fidelity: ``tell`` always answers ``{"continue": false}``
  and passes ``{"fitness": value (negated for mode max, DEHB minimizes), "cost": resource units
  trained}`` with DEHB's own job_info; ``cost`` is only recorded by DEHB, never used to decide.
* Fidelities: DEHB spaces its fidelities geometrically *down from max*
  (``max * eta**-k``, ``k = 0..floor(log_eta(max/min))``), floats. When ``max/min`` is a power of
  ``eta`` (branin, hartmann6: 1..81) these are exactly the harness's ladder. Otherwise (LCBench
  1..52: DEHB's 1.93, 5.78, 17.3, 52) each is rounded to the nearest ladder level in log scale
  (protocol.ladder, anchored at min: 1, 3, 9, 27, 52 -> DEHB runs at 3, 9, 27, 52), i.e. every
  lower rung costs up to eta**0.5 times what DEHB intended; the mapping must be one-to-one or the
  peer refuses. DEHB is told back its own float fidelity (its subpopulations are keyed by it).
* Trial ids / checkpoints: DEHB re-evaluates configurations at higher fidelities (promotions in
  its first ``max_SH_iter`` brackets; DE can also re-create a discrete configuration). When it asks
  for a configuration identical (after decoding) to a trial already trained to a lower level and
  that trial is not running, the peer reuses that trial id, so the harness continues it from its
  checkpoint and charges only the extra epochs (as a checkpoint-aware DEHB runner would; DEHB
  itself has no notion of continuation and reports the full fidelity's result). If several
  qualify, the most trained one is continued. Otherwise the job is a new trial from scratch.
  Library behaviour kept as is: DEHB decides "promote" vs "DE mutant" by its *global* bracket
  counter at ask time (``iteration_counter < max_SH_iter``), not by the bracket's own id. With many
  workers, brackets beyond the first Hyperband iteration are opened while bracket 0 still waits
  for its lowest rung, so bracket 0's higher rungs get fresh DE mutants (trained from scratch)
  instead of promotions: fewer continuations (branin 1..81: 58 at 4 workers, 36 at 32; LCBench:
  none at 32 workers).
* Files: DEHB's loguru log goes to stderr and a throwaway temp folder (deleted at exit);
  ``save_freq="end"`` so nothing is written during the run (``run()``, which would save, is not
  used).

Float values are clipped to their bounds on the way out: DEHB's log-scale decoding
(``exp(log lo + v * (log hi - log lo))``) can exceed a bound by one ulp at v = 0 or 1.
"""
from __future__ import annotations

import atexit
import json
import math
import shutil
import sys
import tempfile
import warnings
from importlib.metadata import version
from pathlib import Path
from typing import Any, Mapping

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from protocol import ladder, serve  # noqa: E402

warnings.filterwarnings("ignore", category=DeprecationWarning)  # DEHB 0.1.2 calls ConfigSpace 0.x names

from ConfigSpace import (  # noqa: E402
    AndConjunction,
    CategoricalHyperparameter,
    ConfigurationSpace,
    Constant,
    EqualsCondition,
    InCondition,
    OrdinalHyperparameter,
    UniformFloatHyperparameter,
    UniformIntegerHyperparameter,
)
from dehb import DEHB  # noqa: E402

TOKENIZED = (CategoricalHyperparameter, OrdinalHyperparameter, Constant)


def _token(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _order(space: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Parameters with their `when` parents first (rung checked the spec is acyclic)."""
    done: list[str] = []
    todo = list(space)
    while todo:
        for name in list(todo):
            if all(p in done for p in (space[name].get("when") or {})):
                done.append(name)
                todo.remove(name)
    return done


def translate(space: Mapping[str, Mapping[str, Any]], seed: int) -> ConfigurationSpace:
    """rung's flat resolved space -> a ConfigSpace ConfigurationSpace (see the module docstring)."""
    cs = ConfigurationSpace(seed=seed)
    for name in _order(space):
        spec = space[name]
        kind = spec.get("type", "float")
        if kind == "float":
            hp: Any = UniformFloatHyperparameter(name, float(spec["low"]), float(spec["high"]),
                                                 log=bool(spec.get("log", False)))
        elif kind == "int":
            hp = UniformIntegerHyperparameter(name, int(spec["low"]), int(spec["high"]),
                                              log=bool(spec.get("log", False)))
        elif kind == "choice":
            hp = CategoricalHyperparameter(name, [_token(v) for v in spec["values"]])
        elif kind == "ordinal":
            hp = OrdinalHyperparameter(name, [_token(v) for v in spec["values"]])
        elif kind == "bool":
            hp = CategoricalHyperparameter(name, [_token(False), _token(True)])
        elif kind == "constant":
            hp = Constant(name, _token(spec["value"]))
        else:
            raise ValueError(f"cannot translate parameter {name!r} of type {kind!r} to ConfigSpace")
        cs.add(hp)
    for name in _order(space):
        when = space[name].get("when") or {}
        clauses = []
        for parent, allowed in when.items():
            values = allowed if isinstance(allowed, list) else [allowed]
            php = cs[parent]
            values = [_token(v) for v in values] if isinstance(php, TOKENIZED) else list(values)
            child = cs[name]
            clauses.append(EqualsCondition(child, php, values[0]) if len(values) == 1
                           else InCondition(child, php, values))
        if len(clauses) == 1:
            cs.add(clauses[0])
        elif clauses:
            cs.add(AndConjunction(*clauses))
    return cs


def _decode_value(hp: Any, value: Any) -> Any:
    if isinstance(hp, TOKENIZED):
        return json.loads(value)
    if isinstance(hp, UniformIntegerHyperparameter):
        return int(value)
    return min(max(float(value), float(hp.lower)), float(hp.upper))


def echo(cs: ConfigurationSpace, names: list[str]) -> dict[str, Any]:
    """The space as DEHB will search it, read back from the ConfigSpace objects."""
    out: dict[str, Any] = {}
    for name in names:
        hp = cs[name]
        if isinstance(hp, UniformFloatHyperparameter):
            entry: dict[str, Any] = {"type": "float", "low": float(hp.lower), "high": float(hp.upper),
                                     "log": bool(hp.log)}
        elif isinstance(hp, UniformIntegerHyperparameter):
            entry = {"type": "int", "low": int(hp.lower), "high": int(hp.upper), "log": bool(hp.log)}
        elif isinstance(hp, CategoricalHyperparameter):
            entry = {"type": "choice", "values": [json.loads(c) for c in hp.choices]}
        elif isinstance(hp, OrdinalHyperparameter):
            entry = {"type": "ordinal", "values": [json.loads(c) for c in hp.sequence]}
        elif isinstance(hp, Constant):
            entry = {"type": "constant", "value": json.loads(hp.value)}
        else:
            raise ValueError(f"parameter {name!r}: unexpected ConfigSpace hyperparameter {hp!r}")
        when: dict[str, Any] = {}
        for cond in cs.parent_conditions_of[name]:
            parts = cond.components if isinstance(cond, AndConjunction) else [cond]
            for c in parts:
                if isinstance(c, EqualsCondition):
                    vals = [c.value]
                elif isinstance(c, InCondition):
                    vals = list(c.values)
                else:
                    raise ValueError(f"parameter {name!r}: unexpected condition {c!r}")
                decoded = [_decode_value(c.parent, v) if isinstance(c.parent, TOKENIZED) else v for v in vals]
                when[c.parent.name] = decoded[0] if len(decoded) == 1 else decoded
        if when:
            entry["when"] = when
        out[name] = entry
    return out


def fidelity_map(fidelities: Any, levels: list[int]) -> dict[float, int]:
    """DEHB's float fidelities -> the nearest ladder level in log scale (one-to-one or refuse)."""
    out: dict[float, int] = {}
    for f in fidelities:
        f = float(f)
        out[f] = min(levels, key=lambda r: (abs(math.log(r / f)), r))
    if len(set(out.values())) != len(out):
        raise ValueError(f"DEHB fidelities {sorted(out)} do not map one-to-one onto the ladder {levels}")
    return out


class DehbMethod:
    def init(self, msg: Mapping[str, Any]) -> dict[str, Any]:
        space = dict(msg["space"])
        self.names = list(space)
        res = msg["resource"]
        r_min, r_max, eta = int(res["min"]), int(res["max"]), res["eta"]
        seed = int(msg["seed"])
        self.sign = 1.0 if msg["mode"] == "min" else -1.0  # DEHB minimizes fitness
        self.cs = translate(space, seed)
        self._tmp = tempfile.mkdtemp(prefix="dehb-peer-")
        atexit.register(shutil.rmtree, self._tmp, True)
        self.dehb = DEHB(cs=self.cs, min_fidelity=r_min, max_fidelity=r_max, eta=eta, seed=seed,
                         n_workers=1, output_path=self._tmp, save_freq="end", log_level="WARNING")
        self.dehb.n_workers = int(msg["workers"])  # no Dask cluster: the harness's workers run jobs
        self.levels = ladder(r_min, r_max, float(eta))
        self.fid = fidelity_map(self.dehb.fidelities, self.levels)
        self.jobs: dict[int, dict[str, Any]] = {}  # running trial -> DEHB job_info
        self.level: dict[int, int] = {}  # trial -> resource it was trained to (0: not yet)
        self.by_config: dict[str, list[int]] = {}  # decoded config (json) -> its trial ids
        self.next_id = 0
        self.reused = 0
        fids = ", ".join(f"{f:g}->{r}" for f, r in sorted(self.fid.items()))
        return {"space": echo(self.cs, self.names), "budget": msg.get("budget"),
                "resource": {"min": r_min, "max": r_max, "eta": res["eta"]},
                "method": f"dehb {version('dehb')} DEHB ask/tell (rand1_bin, F=0.5, CR=0.5, eta={eta}), "
                          f"ConfigSpace {version('ConfigSpace')}; fidelities {fids}; same-config promotions "
                          "continue their trial"}

    def _config(self, configuration: Any) -> dict[str, Any]:
        values = dict(configuration)  # inactive parameters are absent
        return {n: _decode_value(self.cs[n], values[n]) for n in self.names if n in values}

    def ask(self) -> dict[str, Any]:
        job = self.dehb.ask()
        resource = self.fid[float(job["fidelity"])]
        config = self._config(job["config"])
        key = json.dumps(config, sort_keys=True)
        resumable = [t for t in self.by_config.get(key, [])
                     if t not in self.jobs and 0 < self.level[t] < resource]
        if resumable:
            trial = max(resumable, key=lambda t: (self.level[t], -t))
            self.reused += 1
        else:
            trial = self.next_id
            self.next_id += 1
            self.level[trial] = 0
            self.by_config.setdefault(key, []).append(trial)
        self.jobs[trial] = job
        return {"trial": trial, "config": config, "resource": resource}

    def tell(self, trial: int, resource: int, value: float) -> dict[str, Any]:
        job = self.jobs.pop(trial)
        cost = float(resource - self.level[trial])
        self.level[trial] = int(resource)
        self.dehb.tell(job, {"fitness": self.sign * float(value), "cost": cost})
        self.dehb._clean_inactive_brackets()  # as DEHB.run does after collecting results
        return {"continue": False}


if __name__ == "__main__":
    serve(DehbMethod())
