"""What the learning table reads from a simulation's cycles."""

from __future__ import annotations

from simulator.run import Curve, CycleCheck, SimulationResult


def cycle(visitors: int, status: str, fraction: float) -> CycleCheck:
    return CycleCheck(visitors, status, "continued", 5000, 1.0, 1, fraction * 0.3, fraction, fraction * 0.3, None, None)


def result(cycles: list[CycleCheck], drift_at: int | None = None) -> SimulationResult:
    return SimulationResult(50_000, 1.0, "a", Curve(), {}, [], cycles, 1.0, 0.8, drift_at=drift_at)


def test_a_promotion_that_lowered_the_true_value_is_counted_with_its_loss() -> None:
    cycles = [
        cycle(5000, "active", 0.88),  # against uniform random: left out
        cycle(10000, "rejected", 0.88),
        cycle(15000, "active", 0.85),  # 3 points worse
        cycle(20000, "active", 0.93),  # better
        cycle(25000, "active", 0.92),  # 1 point worse
    ]
    assert [round(d, 6) for d in result(cycles).worsening_promotions] == [0.03, 0.01]


def test_a_promotion_across_the_change_of_tastes_is_left_out() -> None:
    cycles = [cycle(20000, "rejected", 0.9), cycle(25000, "active", 0.5), cycle(30000, "active", 0.4)]
    assert [round(d, 6) for d in result(cycles, drift_at=25000).worsening_promotions] == [0.1]
