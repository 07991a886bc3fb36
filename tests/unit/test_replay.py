"""Off-policy estimators: hand-computed values, properties, and interval coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from replay.dr import dr
from replay.estimate import mean_estimate, z_value
from replay.evaluation import compare, evaluate, on_policy
from replay.ips import ips
from replay.log import BanditLog
from replay.snips import snips
from replay.weights import effective_sample_size


def test_ips_hand_computed() -> None:
    # logged p=0.3, reward 1, target p=0.6 -> weight 2 -> IPS 2.0
    assert ips(np.array([0.6 / 0.3]), np.array([1.0])).value == pytest.approx(2.0)
    # two events: weights 2 and 0.5, rewards 1 and 4 -> (2 + 2) / 2 = 2
    e = ips(np.array([2.0, 0.5]), np.array([1.0, 4.0]))
    assert e.value == pytest.approx(2.0)
    assert e.high - e.value == pytest.approx(z_value(0.95) * 0.0 / math.sqrt(2))  # both terms are 2


def test_snips_hand_computed() -> None:
    # (2*1 + 0.5*4) / (2 + 0.5) = 1.6
    assert snips(np.array([2.0, 0.5]), np.array([1.0, 4.0])).value == pytest.approx(1.6)


def test_dr_hand_computed() -> None:
    # direct 0.5, weight 2, reward 1, predicted 0.25 -> 0.5 + 2 * 0.75 = 2.0
    assert dr(np.array([2.0]), np.array([1.0]), np.array([0.5]), np.array([0.25])).value == pytest.approx(2.0)


def test_interval_hand_computed() -> None:
    e = mean_estimate(np.array([1.0, 2.0, 3.0, 4.0]), level=0.95)
    half = 1.959963984540054 * np.std([1, 2, 3, 4], ddof=1) / 2
    assert (e.value, e.low, e.high) == pytest.approx((2.5, 2.5 - half, 2.5 + half))


def test_effective_sample_size() -> None:
    assert effective_sample_size(np.array([1.0, 1.0, 1.0, 1.0])) == 4.0
    assert effective_sample_size(np.array([2.0, 0.0, 0.0, 0.0])) == 1.0
    assert effective_sample_size(np.zeros(3)) == 0.0


def two_arm_log(actions, propensities, rewards, predicted=None) -> BanditLog:
    return BanditLog.build(
        [["a", "b"]] * len(actions), [0 if a == "a" else 1 for a in actions], propensities, rewards, predicted
    )


def test_evaluate_hand_computed() -> None:
    log = two_arm_log(["a", "b", "a", "b"], [0.5, 0.5, 0.5, 0.5], [1.0, 0.0, 1.0, 1.0], predicted=[[0.8, 0.4]] * 4)
    always_a = np.array([1.0, 0.0] * 4)
    result = evaluate(log, always_a)
    assert result.estimates["ips"].value == pytest.approx((2 + 0 + 2 + 0) / 4)
    assert result.estimates["snips"].value == pytest.approx(1.0)
    # DR: direct 0.8 each; corrections 2*(1-0.8) on the two a-events -> 0.8 + 0.2 = 1.0
    assert result.estimates["dr"].value == pytest.approx(1.0)
    assert result.ess == pytest.approx(2.0) and result.max_weight == pytest.approx(2.0)
    assert result.arm_share == {"a": 1.0, "b": 0.0}


def test_paired_difference_of_identical_policies_is_exactly_zero() -> None:
    rng = np.random.default_rng(0)
    log = two_arm_log(rng.choice(["a", "b"], 50), [0.5] * 50, rng.random(50))
    target = np.tile([0.3, 0.7], 50)
    a, b = evaluate(log, target), evaluate(log, target)
    for metric in ("ips", "snips", "dr"):
        d = compare(a, b, metric)
        assert (d.value, d.low, d.high) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(eligible=[["a"]], chosen=[1], propensity=[1.0], reward=[1.0]), "`chosen` must index"),
        (dict(eligible=[["a"]], chosen=[0], propensity=[0.0], reward=[1.0]), "`propensity` must be in"),
        (dict(eligible=[["a"]], chosen=[0], propensity=[1.0], reward=[math.nan]), "must be finite"),
        (dict(eligible=[[]], chosen=[0], propensity=[1.0], reward=[1.0]), "at least one arm"),
        (dict(eligible=[], chosen=[], propensity=[], reward=[]), "no event"),
    ],
)
def test_invalid_logs_are_rejected(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BanditLog.build(**kwargs)


def test_invalid_targets_are_rejected() -> None:
    log = two_arm_log(["a"], [0.5], [1.0])
    with pytest.raises(ValueError, match="one probability per eligible arm"):
        evaluate(log, np.array([1.0]))
    with pytest.raises(ValueError, match="probability distribution"):
        evaluate(log, np.array([0.7, 0.7]))


@st.composite
def logs(draw):
    n = draw(st.integers(2, 30))
    k = draw(st.integers(1, 4))
    arms = [f"arm{j}" for j in range(k)]
    chosen = draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))
    rewards = draw(st.lists(st.floats(-10, 10, allow_nan=False), min_size=n, max_size=n))
    return BanditLog.build([arms] * n, chosen, [1 / k] * n, rewards), k


@settings(max_examples=60, deadline=None)
@given(logs())
def test_target_equal_to_logging_policy_gives_the_mean_reward(data) -> None:
    log, k = data
    uniform = np.full(log.m, 1 / k)
    result = evaluate(log, uniform)
    mean = float(log.reward.mean())
    for metric in ("ips", "snips", "dr"):
        assert result.estimates[metric].value == pytest.approx(mean, abs=1e-9)
    assert on_policy(log).value == pytest.approx(mean)
    assert result.ess == pytest.approx(log.n)


@settings(max_examples=60, deadline=None)
@given(logs(), st.floats(-5, 5, allow_nan=False))
def test_dr_with_a_zero_reward_model_is_ips_and_estimates_shift_with_rewards(data, shift) -> None:
    log, k = data
    target = np.tile(np.eye(k)[0], log.n)
    result = evaluate(log, target)
    assert result.estimates["dr"].value == pytest.approx(result.estimates["ips"].value)
    shifted = BanditLog(
        log.chosen, log.propensity, log.reward + shift, log.offsets, log.arm_codes, log.arm_names, log.predicted
    )
    # SNIPS is shift-equivariant (when the policy's arm was ever logged)
    if np.any(log.chosen == 0):
        assert evaluate(shifted, target).estimates["snips"].value == pytest.approx(
            result.estimates["snips"].value + shift, abs=1e-9
        )


def simulated_coverage(metric: str, runs: int = 300, n: int = 400) -> float:
    """Share of 95% intervals that contain the true value, over seeded simulated logs.

    Three arms with Bernoulli rewards whose means depend on a binary context; the logging
    policy is epsilon-greedy (0.4) on a fixed wrong arm; the target is greedy on a better
    rule. The true value is computed exactly from the means.
    """
    means = np.array([[0.2, 0.5, 0.3], [0.6, 0.2, 0.4]])  # context x arm
    target_arm = np.array([1, 0])  # best arm per context
    true_value = 0.5 * (means[0, 1] + means[1, 0])
    logging = np.full(3, 0.4 / 3) + 0.6 * np.eye(3)[2]  # greedy on arm 2
    covered = 0
    for seed in range(runs):
        rng = np.random.default_rng(seed)
        context = rng.integers(0, 2, n)
        action = np.array([rng.choice(3, p=logging) for _ in range(n)])
        reward = (rng.random(n) < means[context, action]).astype(float)
        predicted = np.repeat(means.mean(axis=0, keepdims=True), n, axis=0)  # a crude reward model
        log = BanditLog.build([["0", "1", "2"]] * n, action, logging[action], reward, predicted)
        target = np.eye(3)[target_arm[context]].ravel()
        e = evaluate(log, target).estimates[metric]
        covered += e.low <= true_value <= e.high
    return covered / runs


@pytest.mark.parametrize("metric", ["ips", "snips", "dr"])
def test_interval_coverage_is_close_to_nominal(metric: str) -> None:
    """Over 300 seeded runs the share of covering 95% intervals has a binomial sd of
    sqrt(0.95 * 0.05 / 300) = 0.0126; allow four of them below nominal (and normal intervals
    may over-cover)."""
    assert simulated_coverage(metric) >= 0.95 - 4 * 0.0126


def test_online_comparison_hand_computed() -> None:
    from replay.online import online_comparison

    result = online_comparison({"bandit": [1.0, 0.0, 1.0, 1.0], "holdout": [0.0, 1.0], "paused": [5.0]})
    half = z_value(0.95) * math.sqrt(np.var([1, 0, 1, 1], ddof=1) / 4 + np.var([0, 1], ddof=1) / 2)
    assert result["difference"] == pytest.approx({"value": 0.25, "low": 0.25 - half, "high": 0.25 + half})
    assert (result["bandit"]["n"], result["holdout"]["n"]) == (4, 2)
    assert result["bandit"]["value"] == 0.75
    assert online_comparison({"bandit": [1.0, 0.0]}) is None
