"""Syne Tune 0.13 peer behind the comparison protocol: HyperbandScheduler, type "promotion".

Runs in its own env (benchmarks/compare/.envs/synetune, from envs/synetune.txt); it must not
import rung. Two methods, chosen by ``--searcher``:

* ``random``   -> ``synetune-asha``: asynchronous successive halving with promotion (pause/resume).
* ``bayesopt`` -> ``synetune-mobster``: the same scheduler with Syne Tune's GP searcher, which is
  MOBSTER (Klein et al. 2020). 0.13.0 is the last release that still ships it.

Why no Tuner: the harness owns time and workers, so this process plays the role of Syne Tune's
Tuner + simulator backend and calls the scheduler exactly as ``Tuner._schedule_new_task`` and
``Tuner._update_running_trials`` do (read from the installed 0.13.0 sources):

* ``ask``  -> ``scheduler.suggest(trial_id)`` with the backend's next trial id. A
  ``spawn_new_trial_id`` suggestion becomes a ``Trial`` object and ``scheduler.on_trial_add``; a
  resume suggestion (a paused trial being promoted) keeps its trial and takes the new config.
  With ``max_resource_attr`` the suggested config carries the resource the job should run to
  (its next milestone), which is the ``resource`` replied to the harness.
* ``tell`` -> ``scheduler.on_trial_result(trial, {"epoch": r, metric: value})``. PAUSE and STOP
  end the job (``on_trial_remove``, as the Tuner does); CONTINUE at the job's last resource means
  the job completed (``on_trial_complete``); CONTINUE below it continues to the next rung.

The protocol reports only at the rung levels the method asks for, while a Syne Tune training
script would report every epoch. With ``searcher_data="rungs"`` (the default for both searchers)
and promotion type, Syne Tune's scheduler and searcher only act on rung-level results, so this
changes no decision.

Conditional parameters are rejected (Syne Tune's config spaces have none); the harness reports
the error instead of running an unfaithful translation.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from protocol import ladder, serve  # noqa: E402

logging.basicConfig(level=logging.WARNING, stream=sys.stderr)  # Syne Tune logs at INFO otherwise

# Syne Tune prints import notices (missing AWS extras) to stdout, which is the protocol channel.
with contextlib.redirect_stdout(sys.stderr):
    import syne_tune  # noqa: E402
    from syne_tune.backend.trial_status import Trial  # noqa: E402
    from syne_tune.config_space import (  # noqa: E402
        Categorical,
        Domain,
        Float,
        Integer,
        choice,
        is_log_space,
        lograndint,
        loguniform,
        ordinal,
        randint,
        uniform,
    )
    from syne_tune.optimizer.scheduler import SchedulerDecision  # noqa: E402
    from syne_tune.optimizer.schedulers import HyperbandScheduler  # noqa: E402

SEARCHERS = {"random": "ASHA", "bayesopt": "MOBSTER"}


def translate(space: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """rung's flat resolved space -> a Syne Tune config space (name -> Domain or constant).

    Why these mappings: they are Syne Tune's own types for the same distributions (``randint``
    and ``lograndint`` include both bounds, as rung's ints do); ``ordinal`` keeps its order
    (Syne Tune's default kind: nearest-neighbour for increasing numbers, equal otherwise); a
    bool is a two-valued ``choice``; a constant is a plain value, Syne Tune's constant.
    """
    out: dict[str, Any] = {}
    for name, spec in space.items():
        if spec.get("when"):
            raise ValueError(f"parameter {name!r} is conditional (when={spec['when']!r}); Syne Tune 0.13 config "
                             "spaces have no conditional parameters, so this space cannot be translated faithfully")
        kind = spec.get("type", "float")
        if kind == "float":
            lo, hi = float(spec["low"]), float(spec["high"])
            out[name] = loguniform(lo, hi) if spec.get("log") else uniform(lo, hi)
        elif kind == "int":
            lo, hi = int(spec["low"]), int(spec["high"])
            out[name] = lograndint(lo, hi) if spec.get("log") else randint(lo, hi)
        elif kind == "choice":
            out[name] = choice(list(spec["values"]))
        elif kind == "ordinal":
            out[name] = ordinal(list(spec["values"]))
        elif kind == "bool":
            out[name] = choice([False, True])
        elif kind == "constant":
            out[name] = spec["value"]
        else:
            raise ValueError(f"cannot translate parameter {name!r} of type {kind!r} to Syne Tune")
    return out


def echo(config_space: Mapping[str, Any], names: list[str]) -> dict[str, Any]:
    """The space as Syne Tune will search it, read back from its Domain objects (not the input)."""
    out: dict[str, Any] = {}
    for name in names:
        d = config_space[name]
        if not isinstance(d, Domain):
            out[name] = {"type": "constant", "value": d}
        elif isinstance(d, Float):
            out[name] = {"type": "float", "low": float(d.lower), "high": float(d.upper), "log": is_log_space(d)}
        elif isinstance(d, Integer):
            out[name] = {"type": "int", "low": int(d.lower), "high": int(d.upper), "log": is_log_space(d)}
        elif isinstance(d, Categorical):
            out[name] = {"type": "choice", "values": list(d.categories)}
        else:
            raise ValueError(f"parameter {name!r}: unexpected Syne Tune domain {d!r}")
    return out


def _plain(value: Any) -> Any:
    """JSON-safe python scalars (Syne Tune may hand back numpy types)."""
    return value.item() if hasattr(value, "item") else value


class SyneTuneMethod:
    def __init__(self, searcher: str) -> None:
        self.searcher = searcher

    def init(self, msg: Mapping[str, Any]) -> dict[str, Any]:
        space = dict(msg["space"])
        self.names = list(space)
        res = msg["resource"]
        r_min, r_max, eta = int(res["min"]), int(res["max"]), float(res["eta"])
        # Resource names that cannot collide with a hyperparameter of the space.
        self.resource_attr, self.max_resource_attr = "epoch", "epochs"
        while self.resource_attr in space or self.max_resource_attr in space:
            self.resource_attr, self.max_resource_attr = "_" + self.resource_attr, "_" + self.max_resource_attr
        config_space = translate(space)
        config_space[self.max_resource_attr] = r_max  # constant: the scheduler's max_t
        self.metric = str(msg["metric"])
        self.scheduler = HyperbandScheduler(
            config_space, searcher=self.searcher, type="promotion", metric=self.metric, mode=msg["mode"],
            resource_attr=self.resource_attr, max_resource_attr=self.max_resource_attr,
            grace_period=r_min, reduction_factor=eta, random_seed=int(msg["seed"]))
        # Same rung levels as every other method, or refuse (the harness compares ladders too).
        st_levels = list(self.scheduler.rung_levels) + [int(self.scheduler.max_t)]
        if st_levels != ladder(r_min, r_max, eta):
            raise ValueError(f"Syne Tune rung levels {st_levels} != the protocol's {ladder(r_min, r_max, eta)}")
        self.trials: dict[int, Trial] = {}
        self.next_id = 0  # the backend's new_trial_id(): trials created so far
        return {"space": echo(self.scheduler.config_space, self.names), "budget": msg.get("budget"),
                "resource": {"min": r_min, "max": int(self.scheduler.max_t), "eta": res["eta"]},
                "method": f"syne-tune {syne_tune.__version__} HyperbandScheduler(type=promotion, "
                          f"searcher={self.searcher}) = {SEARCHERS[self.searcher]}"}

    def _reply(self, trial_id: int, config: Mapping[str, Any]) -> dict[str, Any]:
        return {"trial": trial_id, "config": {k: _plain(config[k]) for k in self.names},
                "resource": int(config[self.max_resource_attr])}

    def ask(self) -> dict[str, Any]:
        suggestion = self.scheduler.suggest(trial_id=self.next_id)
        if suggestion is None:  # searcher out of candidates (finite space exhausted)
            return {"wait": True}
        if suggestion.spawn_new_trial_id:
            trial = Trial(trial_id=self.next_id, config=dict(suggestion.config), creation_time=datetime.now())
            self.next_id += 1
            self.trials[trial.trial_id] = trial
            self.scheduler.on_trial_add(trial=trial)
            return self._reply(trial.trial_id, trial.config)
        trial = self.trials[int(suggestion.checkpoint_trial_id)]
        if suggestion.config is not None:  # the backend's resume_trial(new_config=...)
            trial.config = dict(suggestion.config)
        return self._reply(trial.trial_id, trial.config)

    def tell(self, trial: int, resource: int, value: float) -> dict[str, Any]:
        t = self.trials[trial]
        result = {self.resource_attr: int(resource), self.metric: float(value)}
        decision = self.scheduler.on_trial_result(trial=t, result=result)
        if decision in (SchedulerDecision.STOP, SchedulerDecision.PAUSE):
            self.scheduler.on_trial_remove(trial=t)
            return {"continue": False}
        job_end = int(t.config[self.max_resource_attr])
        if resource >= job_end:  # the job ran to its configured resource and exits: "Completed"
            self.scheduler.on_trial_complete(trial=t, result=result)
            return {"continue": False}
        levels = list(self.scheduler.rung_levels) + [int(self.scheduler.max_t)]
        return {"continue": True, "resource": min(job_end, next(r for r in levels if r > resource))}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--searcher", default="random", choices=sorted(SEARCHERS))
    args = ap.parse_args(argv)
    serve(SyneTuneMethod(args.searcher))


if __name__ == "__main__":
    main()
