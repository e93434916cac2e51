"""Optuna peer behind the comparison protocol: TPESampler + HyperbandPruner via ask/tell.

Runs in its own env (benchmarks/compare/.envs/optuna, from envs/optuna.txt); it must not import
rung. The rung space (the harness sends it resolved and flat, ``Space.to_dict``) is translated
to Optuna's define-by-run API: float/int with ``log``, choice/ordinal/bool as categoricals
(Optuna has no ordered categorical: an ordinal's order is lost), constants fixed, and
conditional parameters suggested only when their ``when`` holds, in dependency order. The
translated space is rebuilt from the Optuna distributions actually used and echoed back so the
harness can check it against its own.

Each trial reports at the ladder levels min*eta^k and max (``trial.report(value, step)`` then
``trial.should_prune()``); HyperbandPruner only decides at its rungs, which are these levels, and
reports cost no simulated time (elapsed is cumulative), so this is Optuna's usual pruning loop
with the harness's clock. Pruning is the stopping type: a trial keeps its worker until pruned or
complete.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Mapping

import optuna

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from protocol import ladder, serve  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _order(space: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Parameters with their `when` parents first (the spec is acyclic; rung checked that)."""
    done: list[str] = []
    todo = list(space)
    while todo:
        for name in list(todo):
            parents = (space[name].get("when") or {}).keys()
            if all(p in done for p in parents):
                done.append(name)
                todo.remove(name)
    return done


def _holds(when: Mapping[str, Any] | None, config: Mapping[str, Any]) -> bool:
    for parent, allowed in (when or {}).items():
        allowed = allowed if isinstance(allowed, list) else [allowed]
        if parent not in config or not any(_same(config[parent], a) for a in allowed):
            return False
    return True


def _same(a: Any, b: Any) -> bool:
    """Typed equality as rung's spaces use: True is not 1, 1 is 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return a == b


class OptunaMethod:
    def init(self, msg: Mapping[str, Any]) -> dict[str, Any]:
        self.space = dict(msg["space"])
        self.names = _order(self.space)
        res = msg["resource"]
        self.levels = ladder(int(res["min"]), int(res["max"]), float(res["eta"]))
        self.direction = "minimize" if msg["mode"] == "min" else "maximize"
        sampler = optuna.samplers.TPESampler(seed=int(msg["seed"]), constant_liar=True)
        pruner = optuna.pruners.HyperbandPruner(min_resource=int(res["min"]), max_resource=int(res["max"]),
                                                reduction_factor=int(res["eta"]))
        # A fixed study name: HyperbandPruner assigns brackets by hashing study name + trial
        # number, and a default (random uuid) name would make runs irreproducible.
        self.study = optuna.create_study(study_name=f"compare-seed{int(msg['seed'])}", direction=self.direction,
                                         sampler=sampler, pruner=pruner)
        self.trials: dict[int, optuna.trial.Trial] = {}
        # Translate once with a throwaway trial-free pass: the echoed space is built from the
        # distributions the define-by-run code below constructs.
        self.dists: dict[str, Any] = {}
        for name in self.names:
            d = self._distribution(self.space[name])
            if d is not None:
                self.dists[name] = d
        return {"space": self._echo(), "budget": msg.get("budget"), "resource": dict(res),
                "method": f"optuna {optuna.__version__} TPESampler(constant_liar) + HyperbandPruner"}

    @staticmethod
    def _distribution(spec: Mapping[str, Any]) -> Any:
        kind = spec["type"]
        if kind == "float":
            return optuna.distributions.FloatDistribution(spec["low"], spec["high"], log=bool(spec.get("log")))
        if kind == "int":
            return optuna.distributions.IntDistribution(int(spec["low"]), int(spec["high"]), log=bool(spec.get("log")))
        if kind in ("choice", "ordinal"):
            return optuna.distributions.CategoricalDistribution(list(spec["values"]))
        if kind == "bool":
            return optuna.distributions.CategoricalDistribution([False, True])
        if kind == "constant":
            return None
        raise ValueError(f"cannot translate parameter type {kind!r}")

    def _echo(self) -> dict[str, Any]:
        """The space as Optuna will search it, in the harness's canonical vocabulary."""
        out: dict[str, Any] = {}
        for name in self.names:
            spec = self.space[name]
            d = self.dists.get(name)
            if d is None:
                entry: dict[str, Any] = {"type": "constant", "value": spec["value"]}
            elif isinstance(d, optuna.distributions.FloatDistribution):
                entry = {"type": "float", "low": d.low, "high": d.high, "log": d.log}
            elif isinstance(d, optuna.distributions.IntDistribution):
                entry = {"type": "int", "low": d.low, "high": d.high, "log": d.log}
            else:
                entry = {"type": "choice", "values": list(d.choices)}
            if spec.get("when"):
                entry["when"] = spec["when"]
            out[name] = entry
        return out

    def ask(self) -> dict[str, Any]:
        trial = self.study.ask()
        config: dict[str, Any] = {}
        for name in self.names:  # define-by-run: inactive conditionals are never suggested
            spec = self.space[name]
            if not _holds(spec.get("when"), config):
                continue
            d = self.dists.get(name)
            if d is None:
                config[name] = spec["value"]
            elif isinstance(d, optuna.distributions.FloatDistribution):
                config[name] = trial.suggest_float(name, d.low, d.high, log=d.log)
            elif isinstance(d, optuna.distributions.IntDistribution):
                config[name] = trial.suggest_int(name, d.low, d.high, log=d.log)
            else:
                config[name] = trial.suggest_categorical(name, d.choices)
        self.trials[trial.number] = trial
        return {"trial": trial.number, "config": config, "resource": self.levels[0]}

    def tell(self, trial: int, resource: int, value: float) -> dict[str, Any]:
        t = self.trials[trial]
        if resource >= self.levels[-1]:
            self.study.tell(t, value)
            del self.trials[trial]
            return {"continue": False}
        t.report(value, step=resource)
        if t.should_prune():
            self.study.tell(t, state=optuna.trial.TrialState.PRUNED)
            del self.trials[trial]
            return {"continue": False}
        return {"continue": True, "resource": next(level for level in self.levels if level > resource)}


if __name__ == "__main__":
    serve(OptunaMethod())
