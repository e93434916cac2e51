"""The rung ladder and Hyperband bracket sizes, checked against hand-computed values."""
import numpy as np
import pytest

from orchestrator.rungs import Ladder, hyperband_bracket_sizes, rung_levels


@pytest.mark.parametrize(
    "r_min, r_max, eta, expected",
    [
        (1, 27, 3, [1, 3, 9, 27]),
        (1, 52, 3, [1, 3, 9, 27, 52]),
        (1, 81, 3, [1, 3, 9, 27, 81]),
        (2, 100, 4, [2, 8, 32, 100]),
        (1, 2, 3, [1, 2]),
        (0.5, 4.0, 2, [0.5, 1.0, 2.0, 4.0]),
    ],
)
def test_levels_are_min_times_powers_of_eta_with_max_last(r_min, r_max, eta, expected):
    assert rung_levels(r_min, r_max, eta) == expected


def test_integer_ladders_stay_integers():
    assert all(isinstance(level, int) for level in rung_levels(1, 52, 3))


def test_bracket_sizes_match_hyperband():
    # s_max = 3, eta = 3: n_s = ceil(4/(4-s) * 3^(3-s)) = 27, 12, 6, 4 (Li et al. 2018, table 1).
    assert hyperband_bracket_sizes(4, 3, 4) == [27, 12, 6, 4]
    assert hyperband_bracket_sizes(4, 3, 2) == [27, 12]


def test_one_bracket_is_asha_and_never_draws_another():
    ladder = Ladder.build(1, 27, 3, brackets=1)
    rng = np.random.default_rng(0)
    assert {ladder.draw_bracket(rng) for _ in range(100)} == {0}


def test_bracket_draws_follow_hyperband_sizes():
    ladder = Ladder.build(1, 27, 3, brackets=4)
    rng = np.random.default_rng(1)
    draws = np.bincount([ladder.draw_bracket(rng) for _ in range(20000)], minlength=4) / 20000
    np.testing.assert_allclose(draws, np.array([27, 12, 6, 4]) / 49, atol=0.015)


def test_bracket_levels_start_higher_for_later_brackets():
    ladder = Ladder.build(1, 27, 3, brackets=3)
    assert list(ladder.bracket_levels(0)) == [1, 3, 9, 27]
    assert list(ladder.bracket_levels(2)) == [9, 27]


def test_too_many_brackets_is_an_error():
    with pytest.raises(ValueError, match="brackets"):
        Ladder.build(1, 27, 3, brackets=5)
