"""Evidence that accumulates and its anytime-valid confidence sequence: hand-computed values,
exact merging, and coverage uniformly over time across seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from replay.sequence import Evidence, cs_radius, rho_for


def test_evidence_of_hand_computed_terms() -> None:
    e = Evidence.of(np.array([1.0, 2.0, 3.0, 4.0]))
    assert (e.n, e.mean, e.m2) == (4, 2.5, 5.0) and e.variance == pytest.approx(5 / 3)


def test_the_radius_is_the_formula_worked_by_hand() -> None:
    # v = n σ² ρ² + 1 = 4 · 5/3 · 0.25 + 1 = 8/3; sqrt(2v / (n² ρ²) · log(sqrt(v) / α))
    assert cs_radius(4, 5 / 3, 0.05, 0.5) == pytest.approx(2.155967501319645)
    assert cs_radius(1, 1.0, 0.05, 0.5) == math.inf


def test_rho_is_tightest_where_asked() -> None:
    # ρ² = (-2 log α + log(-2 log α + 1)) / (n* σ²), α = 0.05, n* = 100, σ² = 1
    assert rho_for(100, 0.05) == pytest.approx(0.28171181376963167)
    assert rho_for(100, 0.05, variance=4.0) == pytest.approx(0.28171181376963167 / 2)
    radii = {n: cs_radius(n, 1.0, 0.05, rho_for(1000, 0.05)) * math.sqrt(n) for n in (100, 1000, 10_000)}
    assert radii[1000] < radii[100] and radii[1000] < radii[10_000]  # narrowest, scaled, at n*


@given(
    st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=40),
    st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=40),
)
def test_merging_is_exactly_adding_the_terms(a: list[float], b: list[float]) -> None:
    merged = Evidence.of(np.array(a)) + Evidence.of(np.array(b))
    whole = Evidence.of(np.array(a + b))
    assert merged.n == whole.n
    assert merged.mean == pytest.approx(whole.mean, abs=1e-9)
    assert merged.m2 == pytest.approx(whole.m2, rel=1e-9, abs=1e-6)


def test_tuning_is_fixed_once_and_kept_by_adding() -> None:
    first = Evidence.of(np.array([0.0, 2.0])).tuned(100, 0.95)
    assert first.rho == pytest.approx(rho_for(100, 0.05, variance=2.0))
    later = (first + Evidence.of(np.array([10.0, -10.0]))).tuned(100, 0.95)
    assert later.rho == first.rho
    assert Evidence().bounds(0.95) == (-math.inf, math.inf)  # untuned: nothing is claimed
    assert Evidence.from_dict(later.as_dict()) == later


@pytest.mark.parametrize(
    "doc",
    [
        {"n": -1, "mean": 0, "m2": 0},
        {"n": 2, "mean": float("nan"), "m2": 0},
        {"n": 2, "mean": 0, "m2": -1},
        {"n": 2, "mean": 0, "m2": 1, "rho": 0},
    ],
)
def test_stored_evidence_that_is_not_evidence_is_refused(doc: dict) -> None:
    with pytest.raises(ValueError, match="not evidence"):
        Evidence.from_dict(doc)


def test_the_sequence_holds_the_mean_at_every_look_in_at_least_95_percent_of_runs() -> None:
    """400 seeded runs of 3,000 skewed terms (exponential, mean 1: heavier-tailed than DR terms
    usually are), the CS looked at after every 50 terms. The CS claims that the probability of
    *ever* missing the mean is at most 5%; the margin is three binomial standard deviations."""
    runs, n, every, confidence = 400, 3000, 50, 0.95
    rng = np.random.default_rng(20261201)
    misses = 0
    for _ in range(runs):
        terms = rng.exponential(1.0, n)
        evidence, missed = Evidence(), False
        for start in range(0, n, every):
            evidence = (evidence + Evidence.of(terms[start : start + every])).tuned(500, confidence)
            low, high = evidence.bounds(confidence)
            missed = missed or not low <= 1.0 <= high
        misses += missed
    alpha = 1 - confidence
    assert misses <= runs * alpha + 3 * math.sqrt(runs * alpha * (1 - alpha)), misses
