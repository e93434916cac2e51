"""Replaying a journal that an earlier resume extended: what that resume deduced but did not
journal must be deduced again, or the search can never be resumed a second time."""
from __future__ import annotations

from orchestrator.experiment import load_experiment
from orchestrator.journal import Journal
from orchestrator.loop import SearchLoop
from orchestrator.runner import make_executor, start as run


def test_a_promotion_journaled_after_a_resume_paused_the_trial_replays(write_experiment, tmp_path):
    """A kill between a trial's rung result and its segment_ended leaves it "pausing"; the next
    resume pauses it in memory (checkpoint at the rung) and may promote it, journaling only the
    promotion. A second resume then meets that promotion while the trial is still "pausing"."""
    exp = load_experiment(write_experiment({"scheduler": {"type": "promotion"}, "stop": {"trials": 40}}))
    live = run(exp, tmp_path / "live")  # a whole search, journaled as `rung run` does
    with Journal.open(live) as journal:
        events, meta = list(journal.events()), journal.meta()
    promoted = next(e.trial for e in events if e.kind == "promoted")
    dropped = next(i for i, e in enumerate(events) if e.kind == "segment_ended" and e.trial == promoted)

    with Journal.create(tmp_path / "resumed", meta) as journal:  # the same, but for that one event
        for e in events[:dropped] + events[dropped + 1:]:
            journal.append(e.kind, e.trial, e.time, **e.data)
        journal.commit()
        replayed = SearchLoop(exp, journal, make_executor(exp, tmp_path / "resumed", journal.last_time()))
        replayed.replay()
    with Journal.open(live) as journal:
        reference = SearchLoop(exp, journal, make_executor(exp, live, journal.last_time()))
        reference.replay()
    assert {t: (s.state, s.target, s.level) for t, s in replayed.scheduler.trials.items()} == \
        {t: (s.state, s.target, s.level) for t, s in reference.scheduler.trials.items()}
    assert replayed.running.keys() == reference.running.keys() and replayed.decisions == reference.decisions
