"""Epsilon-greedy pmf and the sampler: hand-computed values, properties and frequencies."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy.exploration import EpsilonGreedy, greedy_set, sample


@pytest.mark.parametrize(
    ("epsilon", "scores", "expected"),
    [
        (0.2, [0.0, 1.0, 0.5, 0.2], [0.05, 0.85, 0.05, 0.05]),  # 0.2/4 floor, greedy 0.05 + 0.8
        (0.2, [1.0, 1.0, 0.0, 0.0], [0.45, 0.45, 0.05, 0.05]),  # ties share 0.8 -> 0.4 each
        (0.2, [0.3, 0.3, 0.3], [1 / 3, 1 / 3, 1 / 3]),  # cold start: uniform
        (0.0, [0.1, 0.9], [0.0, 1.0]),  # greedy
        (1.0, [0.1, 0.9], [0.5, 0.5]),  # uniform random
        (0.5, [7.0], [1.0]),  # one arm
    ],
)
def test_pmf_matches_hand_computed_values(epsilon: float, scores: list[float], expected: list[float]) -> None:
    assert EpsilonGreedy(epsilon).pmf(scores) == pytest.approx(expected)


@pytest.mark.parametrize("epsilon", [-0.01, 1.01, float("nan"), float("inf"), "0.2", None])
def test_epsilon_outside_unit_interval_is_rejected(epsilon: object) -> None:
    with pytest.raises(ValueError, match="`epsilon` must be in \\[0, 1\\]"):
        EpsilonGreedy(epsilon)


@pytest.mark.parametrize(("scores", "message"), [([], "at least one arm"), ([0.0, float("nan")], "finite")])
def test_invalid_scores_are_rejected(scores: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EpsilonGreedy(0.1).pmf(scores)


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(epsilon=st.floats(0.0, 1.0), scores=st.lists(finite, min_size=1, max_size=50))
def test_pmf_is_a_distribution_with_the_epsilon_floor(epsilon: float, scores: list[float]) -> None:
    pmf = EpsilonGreedy(epsilon).pmf(scores)
    k = len(scores)
    assert math.fsum(pmf) == pytest.approx(1.0, abs=1e-12)
    assert all(p >= epsilon / k - 1e-15 for p in pmf)
    greedy = greedy_set(scores)
    # every greedy arm has the same mass, at least that of any other arm
    assert len({pmf[i] for i in greedy}) == 1
    assert all(pmf[i] >= p for i in greedy for p in pmf)


@given(epsilon=st.floats(0.0, 1.0), scores=st.lists(finite, min_size=1, max_size=20))
def test_pmf_does_not_mutate_scores(epsilon: float, scores: list[float]) -> None:
    before = list(scores)
    EpsilonGreedy(epsilon).pmf(scores)
    assert scores == before


def test_sample_returns_the_pmf_entry_it_drew() -> None:
    rng = random.Random(7)
    pmf = [0.1, 0.0, 0.6, 0.3]
    for _ in range(1000):
        index, probability = sample(pmf, rng)
        assert probability == pmf[index]
        assert index != 1  # probability zero is never drawn


def test_sample_never_draws_a_zero_arm_even_when_the_cumulative_sum_falls_short() -> None:
    class AlmostOne(random.Random):
        def random(self) -> float:
            return 1.0 - 1e-17

    # the entries sum to slightly less than 1 in floating point
    pmf = [0.1] * 9 + [0.09999999999999, 0.0]
    index, probability = sample(pmf, AlmostOne())
    assert index == 9 and probability == pmf[9]


def test_sampling_frequencies_match_the_pmf() -> None:
    """Chi-square goodness of fit on 200,000 seeded draws. With 3 degrees of freedom the 99.9%
    quantile is 16.27; a correct sampler exceeds it with probability 0.001, and the seed fixes
    the outcome."""
    pmf = [0.05, 0.15, 0.3, 0.5]
    n = 200_000
    rng = random.Random(2026)
    counts = [0] * len(pmf)
    for _ in range(n):
        counts[sample(pmf, rng)[0]] += 1
    chi2 = sum((c - n * p) ** 2 / (n * p) for c, p in zip(counts, pmf))
    assert chi2 < 16.27


def test_same_seed_same_draws() -> None:
    pmf = EpsilonGreedy(0.3).pmf([0.1, 0.5, 0.2])
    a, b = random.Random(5), random.Random(5)
    assert [sample(pmf, a) for _ in range(100)] == [sample(pmf, b) for _ in range(100)]


@pytest.mark.parametrize("epsilon", [0.0, 0.1, 1.0])
def test_pmfs_of_many_events_equal_each_events_pmf(epsilon: float) -> None:
    rng = random.Random(int(epsilon * 10))
    events = [[float(rng.randrange(3)) for _ in range(rng.randrange(1, 6))] for _ in range(200)]
    sizes = [len(e) for e in events]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    flat = EpsilonGreedy(epsilon).pmfs(np.array([s for e in events for s in e]), offsets)
    assert flat.tolist() == [p for e in events for p in EpsilonGreedy(epsilon).pmf(e)]
