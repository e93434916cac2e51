"""DEHB 0.1.2 peer behind the comparison protocol: Evolutionary Hyperband via DEHB's ask/tell.

Runs in its own env (benchmarks/compare/.envs/dehb, from envs/dehb.txt); it must not import
rung. DEHB (Awad, Mallik & Hutter, IJCAI 2021) runs Hyperband's successive-halving brackets and
fills every rung with differential evolution (rand1_bin, mutation 0.5, crossover 0.5: the library
defaults, the paper's settings) over one subpopulation per fidelity.

Space: translated to ConfigSpace, echoed back and decoded by ``configspace_translation.py``
(shared with the SMAC peer; its docstring says how). Note DEHB's own encoding: every categorical is mapped to ``index / n`` in [0, 1] and mutated as a
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

from configspace_translation import TrialReuse, decode, echo, ladder_map, translate  # noqa: E402
from dehb import DEHB  # noqa: E402


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
        self.fid = ladder_map(self.dehb.fidelities, self.levels, "DEHB")
        self.jobs: dict[int, dict[str, Any]] = {}  # running trial -> DEHB job_info
        self.trials = TrialReuse()
        fids = ", ".join(f"{f:g}->{r}" for f, r in sorted(self.fid.items()))
        return {"space": echo(self.cs, self.names), "budget": msg.get("budget"),
                "resource": {"min": r_min, "max": r_max, "eta": res["eta"]},
                "method": f"dehb {version('dehb')} DEHB ask/tell (rand1_bin, F=0.5, CR=0.5, eta={eta}), "
                          f"ConfigSpace {version('ConfigSpace')}; fidelities {fids}; same-config promotions "
                          "continue their trial"}

    def ask(self) -> dict[str, Any]:
        job = self.dehb.ask()
        resource = self.fid[float(job["fidelity"])]
        config = decode(self.cs, job["config"], self.names)
        trial = self.trials.assign(config, resource, running=self.jobs)
        self.jobs[trial] = job
        return {"trial": trial, "config": config, "resource": resource}

    def tell(self, trial: int, resource: int, value: float) -> dict[str, Any]:
        job = self.jobs.pop(trial)
        cost = float(self.trials.trained(trial, resource))
        self.dehb.tell(job, {"fitness": self.sign * float(value), "cost": cost})
        self.dehb._clean_inactive_brackets()  # as DEHB.run does after collecting results
        return {"continue": False}


if __name__ == "__main__":
    serve(DehbMethod())
