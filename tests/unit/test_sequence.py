"""Evidence that accumulates over looks and its interval: hand-computed values, exact merging,
and coverage at every look at once across seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from replay.sequence import Evidence, critical_value, spent


def test_evidence_of_hand_computed_terms() -> None:
    e = Evidence.of(np.array([1.0, 2.0, 3.0, 4.0]))
    assert (e.n, e.mean, e.m2) == (4, 2.5, 5.0) and e.variance == pytest.approx(5 / 3)


def test_the_looks_spend_the_budget_as_the_module_says() -> None:
    # α_k = α / (k (k + 1)): 0.025, 0.05/6, 0.05/12 … ; they add up to α
    assert [spent(k, 0.95) for k in (1, 2, 3)] == pytest.approx([0.025, 0.05 / 6, 0.05 / 12])
    assert sum(spent(k, 0.95) for k in range(1, 100_001)) == pytest.approx(0.05, rel=1e-4)
    # z at the first look: the 98.75% normal quantile (a one-off 95% interval uses 1.96)
    assert critical_value(1, 0.95) == pytest.approx(2.241402727604945)
    with pytest.raises(ValueError):
        spent(0, 0.95)


def test_the_bounds_are_the_formula_worked_by_hand() -> None:
    # terms 1, 2, 3, 4: mean 2.5, variance 5/3, SE sqrt(5/12); at the first look z = 2.2414
    e = Evidence.of(np.array([1.0, 2.0, 3.0, 4.0]))
    assert e.bounds(0.95) == (-math.inf, math.inf)  # not looked at: nothing is claimed
    low, high = e.looked().bounds(0.95)
    assert (low, high) == pytest.approx(
        (2.5 - 2.241402727604945 * math.sqrt(5 / 12), 2.5 + 2.241402727604945 * math.sqrt(5 / 12))
    )
    second = e.looked().looked().bounds(0.95)
    assert second[0] < low and second[1] > high  # a later look spends less, so it is wider
    assert Evidence.of(np.array([1.0])).looked().bounds(0.95) == (-math.inf, math.inf)


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


def test_looks_add_up_and_are_stored() -> None:
    first = Evidence.of(np.array([0.0, 2.0])).looked()
    later = (first + Evidence.of(np.array([10.0, -10.0]))).looked()
    assert (first.looks, later.looks) == (1, 2)
    assert Evidence.from_dict(later.as_dict()) == later
    # evidence stored before looks were counted counts as read once
    assert Evidence.from_dict({"n": 2, "mean": 1.0, "m2": 2.0, "rho": 0.3}).looks == 1


@pytest.mark.parametrize(
    "doc",
    [
        {"n": -1, "mean": 0, "m2": 0},
        {"n": 2, "mean": float("nan"), "m2": 0},
        {"n": 2, "mean": 0, "m2": -1},
        {"n": 2, "mean": 0, "m2": 1, "looks": -1},
        {"n": 2, "mean": 0, "m2": 1, "looks": 1.5},
    ],
)
def test_stored_evidence_that_is_not_evidence_is_refused(doc: dict) -> None:
    with pytest.raises(ValueError, match="not evidence"):
        Evidence.from_dict(doc)


def test_the_intervals_hold_the_mean_at_every_look_in_at_least_95_percent_of_runs() -> None:
    """400 seeded runs of 10,000 skewed terms (exponential, mean 1), looked at after every 500
    (``promotion.min_events``, before which no rule reads the bounds): 20 looks. The claim: the
    probability that *any* look misses the mean is at most 5%, and at most 2.5% on either side;
    the margin is three binomial standard deviations. (The normal approximation is what the
    levels rest on: looked at after every 50 such terms, the upper bound missed in 5.4% of
    2,000 runs, the lower in 0.7%; after every 500, 3.1% and 0.8%.)"""
    runs, n, every, confidence = 400, 10_000, 500, 0.95
    rng = np.random.default_rng(20261201)
    low_misses = high_misses = 0
    for _ in range(runs):
        terms = rng.exponential(1.0, n)
        evidence, below, above = Evidence(), False, False
        for start in range(0, n, every):
            evidence = (evidence + Evidence.of(terms[start : start + every])).looked()
            low, high = evidence.bounds(confidence)
            below, above = below or low > 1.0, above or high < 1.0
        low_misses += below
        high_misses += above
    for misses, alpha in ((low_misses + high_misses, 0.05), (low_misses, 0.025), (high_misses, 0.025)):
        assert misses <= runs * alpha + 3 * math.sqrt(runs * alpha * (1 - alpha)), (low_misses, high_misses)
