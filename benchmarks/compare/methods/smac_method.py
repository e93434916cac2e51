"""SMAC3 2.4.1 peer behind the comparison protocol: MultiFidelityFacade (Hyperband) via ask/tell.

Runs in its own env (benchmarks/compare/.envs/smac, from envs/smac.txt); it must not import rung.
What runs is SMAC's stock multi-fidelity facade with every component left at its default:
Hyperband intensifier (``eta`` = the harness's eta), scikit-learn random forest surrogate with log
EI, LocalAndSortedRandomSearch, 20% random interleaving, random initial design (10 configs per
hyperparameter), ``Scenario(deterministic=True, min_budget=resource min, max_budget=resource
max, seed=seed, n_trials=10**9)``. No target function is given, so SMAC has no runner: this
process plays the runner, as SMAC's documented ask/tell usage does, and the harness owns time.

How it is driven (read from the installed 2.4.1 sources):

* ``ask`` -> ``smac.ask()``, which is ``next()`` on the intensifier's generator and then
  ``runhistory.add_running_trial``. Successive Halving/Hyperband (``SuccessiveHalving.__iter__``)
  yields only trials that are neither evaluated nor running; when nothing is left to yield in any
  open bracket (results outstanding, promotions undecided) it opens the *next* Hyperband bracket
  with fresh configurations rather than blocking. So SMAC is asynchronous here exactly as under
  its own DaskParallelRunner (ask whenever a worker is free, results told as they arrive): every
  ask is answered with a trial. ``{"wait": true}`` is only replied once SMAC's generator has
  ended (``StopIteration`` / ``ConfigurationSpaceExhaustedException``: finite space used up).
* ``tell`` -> ``smac.tell(info, TrialValue(cost))`` with the TrialInfo of that evaluation; the
  reply is always ``{"continue": false}``: SMAC decides promotions itself in later asks (a
  promoted configuration comes back from ``ask`` at the next stage's budget). Costs are the
  metric (mode min) or its negation (mode max; SMAC minimises). ``save=False``: SMAC's own loop
  also writes the whole runhistory/intensifier JSON after every tell; that is persistence, not a
  decision, and would grow quadratically in the measured decision time, so it is skipped.

Budgets: SMAC's Hyperband budgets are computed down from the maximum,
``max_budget * eta**-k`` for ``k = 0..s_max``, ``s_max = floor(log(max/min) / log(eta))`` (floats;
``smac.intensifier`` static helpers, used here to list them). The harness only runs integer
levels of ``protocol.ladder`` (min*eta^k upward, then max). Each SMAC budget is mapped to the
ladder level nearest in log scale (ties upward); this map is injective because SMAC's budgets are
eta apart and ladder gaps are at most eta. When max/min is a power of eta (branin, hartmann6:
1..81) the two coincide exactly; for LCBench (1..52) SMAC's 1.93, 5.78, 17.3, 52 run as 3, 9,
27, 52, so SMAC never uses the 1-epoch level and its lowest rung costs 3 epochs. SMAC records
the value under its own float budget. The map is listed in the init reply's ``method`` string.

Checkpoints: SMAC's target function gets (config, budget) and would train from scratch. Here,
when SMAC asks a configuration at a higher budget and a trial of the same configuration was
trained to a lower level and is not running, its trial id is reused, so the harness continues
it from its checkpoint and charges only the extra time (as a checkpoint-aware target function
would); otherwise the evaluation is a new trial id (from scratch). Within Hyperband every
configuration belongs to one bracket and climbs its stages, so in practice each promotion reuses.

Space: translated to ConfigSpace, echoed back and decoded by ``configspace_translation.py``
(shared with the DEHB peer; its docstring says how; ordinals keep their order, and ConfigSpace,
like rung, deactivates a child whose parent is inactive).

Decision time: an ask that needs a new configuration after the initial design retrains the random
forest (every 8 configurations) and runs the 10000-challenger local+random acquisition search;
measured means were about 0.1 s per ask at 4 workers and 0.15-0.23 s at 32 workers (2 shared cores),
which matters when the harness charges decision time.

Reproducibility: the process re-executes itself with ``PYTHONHASHSEED=0`` (unless one is set),
because SMAC 2.4.1's acquisition local search iterates a ``set`` of Configurations; without it
the same seed gave different runs from the first model-based suggestion on.
"""
from __future__ import annotations

import atexit
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Mapping

# Reproducibility: SMAC's local search seeds its walks from ``list(set(configurations))``
# (LocalSearch._get_initial_points), whose order follows Python's per-process string-hash
# randomisation, so one seed gave different runs. Re-exec once with a fixed hash seed (before
# anything reads stdin; the pipes survive exec) unless the caller fixed one already.
if __name__ == "__main__" and not os.environ.get("PYTHONHASHSEED", "random").isdigit():
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable, *sys.argv])

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from protocol import ladder, serve  # noqa: E402

logging.basicConfig(level=logging.WARNING, stream=sys.stderr)  # stdout is the protocol channel

import smac  # noqa: E402
from smac import MultiFidelityFacade, Scenario  # noqa: E402
from smac.intensifier.hyperband import Hyperband  # noqa: E402
from smac.main.exceptions import ConfigurationSpaceExhaustedException  # noqa: E402
from smac.runhistory.dataclasses import TrialInfo, TrialValue  # noqa: E402

from configspace_translation import TrialReuse, decode, echo, ladder_map, translate  # noqa: E402


class SmacMethod:
    def init(self, msg: Mapping[str, Any]) -> dict[str, Any]:
        space = dict(msg["space"])
        self.names = list(space)
        res = msg["resource"]
        r_min, r_max = int(res["min"]), int(res["max"])
        eta_f = float(res["eta"])
        eta: int | float = int(eta_f) if eta_f.is_integer() else eta_f
        self.mode = msg["mode"]
        seed = int(msg["seed"])
        self.levels = ladder(r_min, r_max, eta_f)
        self.cs = cs = translate(space, seed)
        self.outdir = tempfile.mkdtemp(prefix="smac-peer-")
        atexit.register(shutil.rmtree, self.outdir, ignore_errors=True)
        scenario = Scenario(cs, name=f"compare-seed{seed}", output_directory=Path(self.outdir), deterministic=True,
                            n_trials=10**9, min_budget=r_min, max_budget=r_max, seed=seed,
                            n_workers=int(msg.get("workers", 1)))
        intensifier = MultiFidelityFacade.get_intensifier(scenario, eta=eta)
        self.smac = MultiFidelityFacade(scenario, None, intensifier=intensifier, overwrite=True, logging_level=False)
        # SMAC's Hyperband budgets, from its own helpers, and where each one runs on the ladder.
        s_max = Hyperband._get_max_iterations(eta, r_max, r_min)
        smac_budgets, _ = Hyperband._compute_configs_and_budgets_for_stages(eta, r_max, s_max, s_max)
        self.budget_map = ladder_map(smac_budgets, self.levels, "SMAC")
        self.trials = TrialReuse()
        self.outstanding: dict[int, tuple[TrialInfo, int]] = {}  # running trial -> (SMAC trial, level)
        self.exhausted = False
        mapping = ", ".join(f"{b:.4g}->{lv}" for b, lv in self.budget_map.items())
        return {"space": echo(cs, self.names), "budget": msg.get("budget"),
                "resource": {"min": r_min, "max": r_max, "eta": res["eta"]},
                "method": f"smac {smac.version} MultiFidelityFacade (Hyperband eta={eta}, RF+EI, ask/tell, "
                          f"async; budgets->ladder {mapping}; checkpoint reuse)"}

    def ask(self) -> dict[str, Any]:
        if self.exhausted:
            return {"wait": True}
        try:
            info = self.smac.ask()
        except (StopIteration, ConfigurationSpaceExhaustedException):
            # SMAC's trial generator has ended (finite space used up); it cannot be restarted.
            self.exhausted = True
            return {"wait": True}
        budget = float(info.budget)
        level = self.budget_map.get(budget) or ladder_map([budget], self.levels, "SMAC")[budget]
        config = decode(self.cs, info.config, self.names)
        trial = self.trials.assign(config, level, running=self.outstanding)
        self.outstanding[trial] = (info, level)
        return {"trial": trial, "config": config, "resource": level}

    def tell(self, trial: int, resource: int, value: float) -> dict[str, Any]:
        info, level = self.outstanding.pop(trial)
        if resource != level:
            raise ValueError(f"trial {trial}: result at {resource}, but it was asked to run to {level}")
        self.trials.trained(trial, resource)
        cost = float(value) if self.mode == "min" else -float(value)
        self.smac.tell(info, TrialValue(cost=cost), save=False)
        return {"continue": False}


if __name__ == "__main__":
    serve(SmacMethod())
