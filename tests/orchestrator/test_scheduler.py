"""Scheduler decisions against hand-computed asynchronous successive halving.

Each scenario scripts arrivals by hand and states, in comments, why the expected decision
is the right one under ASHA's rules (Li et al. 2020).
"""
import numpy as np
import pytest

from orchestrator.rungs import Ladder
from orchestrator.scheduler import AsyncHyperband, Promote, Start, Verdict

RNG = np.random.default_rng(0)


def finish(s: AsyncHyperband, trial: int, level, value) -> Verdict:
    """A segment reports at `level` and ends there (as a worker does at its target rung)."""
    verdict = s.on_result(trial, level, value)
    s.on_segment_end(trial)
    return verdict


def new(s: AsyncHyperband, trial: int, value) -> None:
    """The scheduler is asked for work and must start a new trial, which pauses at rung 1."""
    action = s.next_action(RNG)
    assert isinstance(action, Start), action
    target = s.start(trial, action.bracket)
    assert finish(s, trial, target, value) is Verdict.PAUSE


def add(s: AsyncHyperband, trial: int, value, bracket: int = 0) -> None:
    """Set-up shortcut: a trial of `bracket` reports at its first rung and pauses."""
    target = s.start(trial, bracket)
    assert finish(s, trial, target, value) is Verdict.PAUSE


class TestPromotionOneBracket:
    def setup_method(self):
        self.s = AsyncHyperband(Ladder.build(1, 9, 3), "promotion", "min")  # rungs 1, 3, 9

    def test_scripted_asha(self):
        s = self.s
        new(s, 0, 0.5)
        # rung 1 holds [0.5]: top floor(1/3) = 0 trials may go up -> start a new one
        new(s, 1, 0.3)
        new(s, 2, 0.9)
        # rung 1 holds [0.3, 0.5, 0.9]: top floor(3/3) = 1 -> trial 1 (0.3) is promoted to 3
        assert s.next_action(RNG) == Promote(1, 1, 3)
        assert s.promote(1) == 3
        assert finish(s, 1, 3, 0.2) is Verdict.PAUSE
        # rung 3: [0.2], floor(1/3) = 0; rung 1: best waiting is trial 0 (0.5) at rank 1, not < 1
        assert isinstance(s.next_action(RNG), Start)
        new(s, 3, 0.1)
        # rung 1: [0.1, 0.3, 0.5, 0.9]: top floor(4/3) = 1 -> trial 3 (rank 0)
        assert s.next_action(RNG) == Promote(3, 1, 3)
        s.promote(3)
        new(s, 4, 0.4)
        # rung 1: [0.1, 0.3, 0.4, 0.5, 0.9], top 1; waiting: 4 (rank 2), 0, 2 -> none qualifies
        assert isinstance(s.next_action(RNG), Start)
        new(s, 5, 0.05)
        # six results: top floor(6/3) = 2 = {0.05 (trial 5), 0.1 (trial 3, promoted)} -> trial 5
        assert s.next_action(RNG) == Promote(5, 1, 3)
        s.promote(5)
        # afterwards the best waiting is trial 4 (0.4) at rank 3 >= 2: a new trial
        assert isinstance(s.next_action(RNG), Start)

    def test_higher_rungs_are_scanned_first(self):
        s = self.s
        for trial, value in enumerate([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]):
            add(s, trial, value)
        # six results at rung 1: the top floor(6/3) = 2 (trials 0 and 1) go up, one at a time
        for trial, value_at_3 in [(0, 0.3), (1, 0.2)]:
            assert s.next_action(RNG) == Promote(trial, 1, 3)
            s.promote(trial)
            finish(s, trial, 3, value_at_3)
        # rung 3: [0.2, 0.3] -> floor(2/3) = 0; rung 1: best waiting is trial 2 at rank 2, not < 2
        assert isinstance(s.next_action(RNG), Start)
        add(s, 6, 0.05)  # 7 results at rung 1, top 2 = trials 6 and 0
        assert s.next_action(RNG) == Promote(6, 1, 3)
        s.promote(6)
        finish(s, 6, 3, 0.25)
        add(s, 7, 0.01)  # rung 1 now also has a qualifying trial (rank 0 of 8, top 2)
        # rung 3: [0.2 (1), 0.25 (6), 0.3 (0)] -> top 1 = trial 1, and rung 3 is scanned before rung 1
        assert s.next_action(RNG) == Promote(1, 3, 9)
        s.promote(1)
        assert s.next_action(RNG) == Promote(7, 1, 3)

    def test_paused_trial_is_promotable_only_after_its_segment_ended(self):
        s = self.s
        for trial, value in enumerate([0.5, 0.9]):
            new(s, trial, value)
        s.start(2, 0)
        assert s.on_result(2, 1, 0.1) is Verdict.PAUSE
        # the segment of trial 2 has not ended yet (its checkpoint may still be written)
        assert isinstance(s.next_action(RNG), Start)
        s.on_segment_end(2)
        assert s.next_action(RNG) == Promote(2, 1, 3)

    def test_reaching_max_completes_and_resource_is_sum_of_levels(self):
        s = self.s
        for trial, value in enumerate([0.1, 0.5, 0.9]):
            add(s, trial, value)
        assert s.next_action(RNG) == Promote(0, 1, 3)
        s.promote(0)
        finish(s, 0, 3, 0.1)
        for trial, value in [(3, 0.6), (4, 0.7), (5, 0.02)]:
            add(s, trial, value)
        # rung 1: [0.02 (5), 0.1 (0, promoted), 0.5, 0.6, 0.7, 0.9]: top 2 -> trial 5
        assert s.next_action(RNG) == Promote(5, 1, 3)
        s.promote(5)
        finish(s, 5, 3, 0.3)
        for trial, value in [(6, 0.01), (7, 0.03), (8, 0.04)]:
            add(s, trial, value)
        # rung 1, nine results, top 3: 0.01 (6), 0.02 (5, promoted), 0.03 (7) -> trial 6 first
        assert s.next_action(RNG) == Promote(6, 1, 3)
        s.promote(6)
        finish(s, 6, 3, 0.2)
        # rung 3: [0.1 (0), 0.2 (6), 0.3 (5)] -> trial 0 goes to the top rung
        assert s.next_action(RNG) == Promote(0, 3, 9)
        s.promote(0)
        assert finish(s, 0, 9, 0.05) is Verdict.COMPLETE
        assert s.trials[0].state == "completed"
        # resource used is the sum over trials of the highest level each reached
        assert s.resource_used() == 9 + 1 + 1 + 1 + 1 + 3 + 3 + 1 + 1

    def test_failed_trials_are_never_promoted(self):
        s = self.s
        for trial, value in enumerate([0.1, 0.5, 0.9]):
            new(s, trial, value)
        s.on_failed(0)
        assert isinstance(s.next_action(RNG), Start)

    def test_max_mode_ranks_high_values_first(self):
        s = AsyncHyperband(Ladder.build(1, 9, 3), "promotion", "max")
        for trial, value in enumerate([0.5, 0.9, 0.1]):
            new(s, trial, value)
        assert s.next_action(RNG) == Promote(1, 1, 3)

    def test_no_new_trials_when_not_allowed(self):
        s = self.s
        new(s, 0, 0.5)
        assert s.next_action(RNG, allow_new=False) is None


class TestStopping:
    def test_scripted_quantile_cutoffs(self):
        s = AsyncHyperband(Ladder.build(1, 9, 3), "stopping", "min")
        assert s.next_action(RNG) == Start(0, 9)  # stopping trials train towards the max level
        for trial in range(4):
            s.start(trial, 0)
        # rung 1: [0.5] -> cutoff = 0.5 -> continue
        assert s.on_result(0, 1, 0.5) is Verdict.CONTINUE
        # [0.5, 0.7]: 1/3-quantile = 0.5 + (1/3)(0.2) = 0.5667 < 0.7 -> stop
        assert s.on_result(1, 1, 0.7) is Verdict.STOP
        # [0.4, 0.5, 0.7]: quantile at position 2/3 = 0.4 + (2/3)(0.1) = 0.4667 >= 0.4 -> continue
        assert s.on_result(2, 1, 0.4) is Verdict.CONTINUE
        # [0.4, 0.5, 0.6, 0.7]: position 1.0 -> 0.5 < 0.6 -> stop
        assert s.on_result(3, 1, 0.6) is Verdict.STOP
        assert s.on_result(0, 3, 0.45) is Verdict.CONTINUE  # first at rung 3
        assert s.on_result(2, 3, 0.35) is Verdict.CONTINUE  # [0.35, 0.45]: cutoff 0.3833
        assert s.on_result(2, 9, 0.3) is Verdict.COMPLETE
        assert s.counts() == {"running": 1, "paused": 0, "stopped": 2, "completed": 1, "failed": 0}
        assert s.resource_used() == 3 + 1 + 9 + 1

    def test_stopping_never_promotes(self):
        s = AsyncHyperband(Ladder.build(1, 9, 3), "stopping", "min")
        for trial in range(3):
            s.start(trial, 0)
            s.on_result(trial, 1, 0.1 * trial)
        assert isinstance(s.next_action(RNG), Start)


class TestSeveralBrackets:
    def test_bracket_targets_and_separate_rungs(self):
        s = AsyncHyperband(Ladder.build(1, 9, 3, brackets=2), "promotion", "min")
        assert s.start(0, 1) == 3  # bracket 1 starts at rung 3
        assert s.start(1, 0) == 1
        # bracket-1 trials at rung 3: [0.2, 0.5, 0.6] -> trial 2 (0.2) is its top third
        finish(s, 0, 3, 0.5)
        for trial, value in [(2, 0.2), (3, 0.6)]:
            s.start(trial, 1)
            finish(s, trial, 3, value)
        # bracket 0 at rung 1 has only trial 1: it does not compete with bracket 1's rung 3
        finish(s, 1, 1, 0.01)
        assert s.next_action(RNG) == Promote(2, 3, 9)

    def test_scan_order_is_highest_level_then_lower_bracket(self):
        s = AsyncHyperband(Ladder.build(1, 9, 3, brackets=2), "promotion", "min")
        for trial, (bracket, value) in enumerate([(0, 0.1), (0, 0.2), (0, 0.3)]):
            s.start(trial, bracket)
            finish(s, trial, 1, value)
        s.promote(0)
        finish(s, 0, 3, 0.4)
        for trial, value in [(3, 0.1), (4, 0.5), (5, 0.6)]:
            s.start(trial, 1)
            finish(s, trial, 3, value)
        # level 3: bracket 0 holds [0.4] (nothing qualifies), bracket 1 holds [0.1, 0.5, 0.6] -> trial 3
        assert s.next_action(RNG) == Promote(3, 3, 9)

    def test_new_trial_brackets_are_drawn_from_the_seeded_stream(self):
        s = AsyncHyperband(Ladder.build(1, 27, 3, brackets=4), "promotion", "min")
        first = [s.next_action(np.random.default_rng([7, d])).bracket for d in range(50)]
        again = [s.next_action(np.random.default_rng([7, d])).bracket for d in range(50)]
        assert first == again and len(set(first)) > 1


def test_unknown_type_is_rejected():
    with pytest.raises(ValueError, match="scheduler type"):
        AsyncHyperband(Ladder.build(1, 9, 3), "median", "min")
