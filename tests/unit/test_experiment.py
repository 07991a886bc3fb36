"""Experiment definitions: defaults and the domain rules an HTTP schema cannot express."""

from __future__ import annotations

import pytest

from policy.arms import Arm
from policy.experiment import Experiment, RewardSettings


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
        ({"default": float("nan")}, "`reward.default` must be finite"),
        ({"aggregate": "median"}, "`reward.aggregate` must be one of"),
    ],
)
def test_invalid_reward_settings_are_rejected(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RewardSettings(**kwargs)
