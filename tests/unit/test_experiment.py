"""Experiment definitions: defaults and the domain rules an HTTP schema cannot express."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from policy.arms import Arm
from policy.experiment import Experiment, PromotionSettings, RewardSettings, TrainingSettings


def test_defaults() -> None:
    e = Experiment.create("home", arms=[Arm("a"), Arm("b")])
    assert e.default_arm == "a"
    assert e.epsilon == 0.2
    assert e.reward == RewardSettings(window_seconds=86_400, default=0.0, aggregate="sum")
    assert e.arm_ids == ("a", "b")


def test_factor_experiment_keeps_its_declaration() -> None:
    e = Experiment.create("home", factors={"hero": ["big", "small"]})
    assert e.arm_ids == ("hero=big", "hero=small")
    assert dict(e.factors) == {"hero": ("big", "small")}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"arms": [Arm("a")], "factors": {"x": ["1"]}}, "exactly one of `arms` and `factors`"),
        ({}, "exactly one of `arms` and `factors`"),
        ({"arms": []}, "at least one arm"),
        ({"arms": [Arm("a"), Arm("a")]}, "arm id twice"),
        ({"arms": [Arm("a")], "default_arm": "z"}, "`default_arm` must be one of the arms"),
        ({"arms": [Arm("a")], "epsilon": 2.0}, "`epsilon` must be in"),
        ({"arms": [Arm("a")], "exclude": [{"x": "1"}]}, "`exclude` applies to `factors` only"),
    ],
)
def test_invalid_experiments_are_rejected(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Experiment.create("exp", **kwargs)


@pytest.mark.parametrize("bad_id", ["", "-x", "a b", "a/b", "x" * 65, "ü"])
def test_invalid_ids_are_rejected(bad_id: str) -> None:
    with pytest.raises(ValueError, match="`id` must be"):
        Experiment.create(bad_id, arms=[Arm("a")])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window_seconds": 0}, "window_seconds"),
        ({"window_seconds": 1.5}, "window_seconds"),
        ({"window_seconds": 90 * 86_400 + 1}, r"`reward.window_seconds` must be an integer in \[1, 7,776,000\]"),
        ({"default": float("nan")}, r"`reward.default` must be in \[-1e\+12, 1e\+12\]"),
        ({"default": 1e308}, r"`reward.default` must be in \[-1e\+12, 1e\+12\], got 1e\+308"),
        ({"aggregate": "median"}, "`reward.aggregate` must be one of"),
    ],
)
def test_invalid_reward_settings_are_rejected(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RewardSettings(**kwargs)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: TrainingSettings(min_events=10**30),
            r"`training.min_events` must be an integer in \[1, 1,000,000,000\], got 100000000000000000000…",
        ),
        (
            lambda: TrainingSettings(interval_seconds=10**14),
            r"`training.interval_seconds` must be an integer in \[1, 31,622,400\]",
        ),
        (lambda: TrainingSettings(interval_seconds=True), "`training.interval_seconds` must be an integer"),
        (lambda: PromotionSettings(min_events=0), "`promotion.min_events` must be an integer in"),
        (lambda: PromotionSettings(min_improvement=float("inf")), "`promotion.min_improvement` must be in"),
        (lambda: PromotionSettings(confidence=1.0), r"`promotion.confidence` must be in \[0.5, 0.999\]"),
        (lambda: PromotionSettings(margin=0.6), "`promotion.margin` must be in"),
        (lambda: Experiment.create("e", arms=[Arm("a")], holdout=0.6), r"`holdout.fraction` must be in \[0, 0.5\]"),
        (
            lambda: Experiment.create("e", arms=[Arm("a")], candidate_share=1.5),
            r"`exploration.candidate_share` must be in \[0, 1\]",
        ),
    ],
)
def test_every_operator_field_is_bounded(make: Callable[[], object], message: str) -> None:
    """A value past the bound is refused where it is made, never stored to fail later (a year
    of seconds, a billion events, rewards within ±1e12 that VW's 32-bit floats carry)."""
    with pytest.raises(ValueError, match=message):
        make()
