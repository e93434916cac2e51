"""Replaying a journal that an earlier resume extended: what that resume deduced but did not
journal must be deduced again, or the search can never be resumed a second time."""
from __future__ import annotations

from orchestrator.experiment import load_experiment
from orchestrator.executors.simulated import SimulatedExecutor
from orchestrator.journal import Journal
from orchestrator.loop import SearchLoop


def simulator(exp, start_time: float = 0.0) -> SimulatedExecutor:
    return SimulatedExecutor(exp.load_trainable(), exp.workers, start_time=start_time, levels=exp.ladder.levels)


def test_a_promotion_journaled_after_a_resume_paused_the_trial_replays(write_experiment, tmp_path):
    """A kill between a trial's rung result and its segment_ended leaves it "pausing"; the next
    resume pauses it in memory (checkpoint at the rung) and may promote it, journaling only the
    promotion. A second resume then meets that promotion while the trial is still "pausing"."""
    exp = load_experiment(write_experiment({"scheduler": {"type": "promotion"}, "stop": {"trials": 40}}))
    meta = {"spec": exp.spec, "source": exp.source, "base_dir": str(exp.base_dir),
            "space_names": exp.space.names, "space_fingerprint": exp.space.fingerprint(), "regret": None}
    live = Journal.create(tmp_path / "live", meta)
    SearchLoop(exp, live, simulator(exp)).run()
    events = list(live.events())
    live.close()
    promoted = next(e.trial for e in events if e.kind == "promoted")
    dropped = next(i for i, e in enumerate(events) if e.kind == "segment_ended" and e.trial == promoted)

    with Journal.create(tmp_path / "resumed", meta) as journal:  # the same, but for that one event
        for e in events[:dropped] + events[dropped + 1:]:
            journal.append(e.kind, e.trial, e.time, **e.data)
        journal.commit()
        replayed = SearchLoop(exp, journal, simulator(exp, journal.last_time()))
        replayed.replay()
    with Journal.open(tmp_path / "live") as journal:
        reference = SearchLoop(exp, journal, simulator(exp, journal.last_time()))
        reference.replay()
    assert {t: (s.state, s.target, s.level) for t, s in replayed.scheduler.trials.items()} == \
        {t: (s.state, s.target, s.level) for t, s in reference.scheduler.trials.items()}
    assert replayed.running.keys() == reference.running.keys() and replayed.decisions == reference.decisions
