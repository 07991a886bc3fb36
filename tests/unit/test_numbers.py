"""The pages' number formats and round axis ticks."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from replay import numbers


def test_each_kind_of_number_has_one_format() -> None:
    assert numbers.value(0.06904) == "0.069" and numbers.value(float("-inf")) == "–"
    assert numbers.difference(-0.0028) == "−0.003" and numbers.difference(0.0121) == "+0.012"
    # a number that rounds to zero has no sign (the report showed "−0.000 to +0.000")
    assert numbers.difference(-0.0004) == numbers.difference(0.0004) == numbers.difference(0.0) == "0.000"
    assert numbers.value(-0.0004) == numbers.value(-0.0) == "0.000" and numbers.value(-0.0005) == "−0.001"
    assert numbers.count(209.35) == "209" and numbers.count(12345) == "12,345"
    assert numbers.weight(108.333) == "108.3" and numbers.share(0.8204) == "82.0%"
    assert numbers.interval(0.1699, 0.2697) == "0.170 to 0.270"


def test_times_are_written_in_words() -> None:
    assert numbers.moment("2026-12-01T20:28:00.021000+00:00") == "1 December 2026, 20:28 UTC"
    assert numbers.moment(datetime(2026, 3, 9, 7, 5, tzinfo=UTC)) == "9 March 2026, 07:05 UTC"


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0.00688, 0.364, [0.0, 0.1, 0.2, 0.3, 0.4]),
        (-0.0115, 0.178, [-0.05, 0.0, 0.05, 0.1, 0.15, 0.2]),
        (0.0, 50_000.0, [0.0, 10_000.0, 20_000.0, 30_000.0, 40_000.0, 50_000.0]),
    ],
)
def test_ticks_are_round(low: float, high: float, expected: list[float]) -> None:
    assert numbers.ticks(low, high) == pytest.approx(expected)


@given(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.floats(1e-6, 1e6, allow_nan=False),
)
def test_ticks_cover_the_range_with_few_round_steps(low: float, width: float) -> None:
    """For any range at least a ten-thousandth as wide as its values are large (what a chart shows)."""
    width = max(width, 1e-4 * max(1.0, abs(low)))
    high = low + width
    found = numbers.ticks(low, high)
    step = found[1] - found[0]
    assert found[0] <= low + 1e-6 * step and found[-1] >= high - 1e-6 * step
    assert 2 <= len(found) <= 7
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert min(abs(mantissa - m) for m in (1, 2, 5, 10)) < 1e-5


def test_tick_labels_have_the_decimals_their_step_needs() -> None:
    assert numbers.tick_label(0.15, 0.05) == "0.15"
    assert numbers.tick_label(-0.05, 0.05) == "−0.05"
    assert numbers.tick_label(20_000, 10_000) == "20,000"
