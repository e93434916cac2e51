"""GP and TPE searchers in whole simulated searches: through the CLI, and rebuilt from the
journal on resume (the GP's data after `SearchLoop.replay()` is the live search's data)."""
from __future__ import annotations

import numpy as np
import pytest

from orchestrator.cli import main
from orchestrator.experiment import load_experiment
from orchestrator.journal import Journal
from orchestrator.loop import SearchLoop
from orchestrator.runner import journal_meta, make_executor
from orchestrator.summary import summarize


FAST_GP = {"type": "gp", "candidates": 100, "local_neighbours": 8, "fantasy_samples": 8}


@pytest.mark.parametrize("searcher", [FAST_GP, {"type": "tpe"}], ids=["gp", "tpe"])
def test_a_simulated_search_finishes(write_experiment, tmp_path, searcher):
    cfg = write_experiment({"searcher": searcher, "stop": {"trials": 30}})
    assert main(["run", str(cfg), "--dir", str(tmp_path / "run"), "--quiet"]) == 0
    status = summarize(tmp_path / "run")
    assert status["state"] == "finished"
    assert status["trials"]["total"] == 30 and status["trials"]["failed"] == 0
    assert status["best"]["value"] is not None


def test_resume_rebuilds_the_gp_data_from_the_journal(write_experiment, tmp_path):
    cfg = write_experiment({"searcher": FAST_GP, "stop": {"trials": 25}})
    exp = load_experiment(cfg)
    directory = tmp_path / "run"
    journal = Journal.create(directory, journal_meta(exp, exp.load_trainable()))
    live = SearchLoop(exp, journal, make_executor(exp, directory))
    live.run()
    journal.close()
    assert live.searcher.fitter.fits >= 1  # the model was used, not only the random warm-up

    with Journal.open(directory) as again:
        replayed = SearchLoop(exp, again, make_executor(exp, directory, again.last_time()))
        replayed.replay()
    assert replayed.searcher.dataset() == live.searcher.dataset()
    assert replayed.searcher.configs == live.searcher.configs
    assert replayed.searcher.fitter.fits == 0  # replay only appends data; fitting waits for suggest
    # the journaled hyperparameters of the last fit came back too (searcher_state events) ...
    assert replayed.searcher.fitter._fitted_at == live.searcher.fitter._fitted_at
    assert replayed.searcher.fitter.export_state() == live.searcher.fitter.export_state()
    # ... so the resumed searcher proposes exactly what the uninterrupted one would
    config = replayed.searcher.suggest([], np.random.default_rng([0, replayed.decisions]))
    assert config == live.searcher.suggest([], np.random.default_rng([0, replayed.decisions]))
    exp.space.validate(config)
    assert exp.space.key(config) not in {exp.space.key(c) for c in live.searcher.configs.values()}


def test_a_gp_search_resumed_with_the_cli_continues_to_its_stop(write_experiment, tmp_path):
    """Stop a GP search early (trials: 12), raise the stop in the stored spec and resume."""
    cfg = write_experiment({"searcher": FAST_GP, "stop": {"trials": 30}})
    directory = tmp_path / "run"
    exp = load_experiment(cfg)
    journal = Journal.create(directory, journal_meta(exp, exp.load_trainable()))
    early = load_experiment(cfg, {"stop": {"trials": 12}})
    SearchLoop(early, journal, make_executor(early, directory)).run()  # ends like an interrupted run: no run_ended
    journal.close()
    assert main(["resume", str(directory), "--quiet"]) == 0
    status = summarize(directory)
    assert status["state"] == "finished" and status["trials"]["total"] == 30
