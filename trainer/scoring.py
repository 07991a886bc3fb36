"""Scoring models on encoded events for replay: their pmfs, a reward model's predictions, the
fixed-arm baselines, and the report entries of evaluated policies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from policy.decision import usable_predictions
from policy.exploration import ExplorationStrategy
from policy.learning import LearningSettings
from policy.model import Predictions
from replay.estimate import Estimate
from replay.evaluation import METRICS, PolicyEvaluation
from replay.log import BanditLog
from trainer.join import Example

REWARD_MODEL = LearningSettings(cb_type="mtr", interactions=("UA",))
"""The policy search's DR reward model: a VW regression trained on the earlier blocks, like the
settings it scores (never on the block it corrects), shared by every setting so that they are
compared on one model."""


def bandit_log(examples: Sequence[Example], predicted: Predictions) -> BanditLog:
    """Examples as a bandit log, with ``predicted`` rewards for every eligible arm (an event's
    that are not all finite count as zeros)."""
    return BanditLog.build(
        [e.actions for e in examples],
        [e.chosen for e in examples],
        [e.probability for e in examples],
        [e.reward for e in examples],
        usable_predictions(predicted).values,
    )


def pmf_targets(predicted: Predictions, strategies: Sequence[ExplorationStrategy]) -> list[np.ndarray]:
    """Flat pmfs (one per strategy) of the policy with these predicted rewards on every event;
    an event whose scores are not all finite ties every arm, as in serving
    (:func:`policy.decision.usable_predictions`)."""
    usable = usable_predictions(predicted)
    return [strategy.pmfs(usable.values, usable.offsets) for strategy in strategies]


def fixed_arm_target(log: BanditLog, arm: str) -> np.ndarray:
    """Always ``arm`` where it is eligible; uniform over the eligible arms where it is not."""
    is_arm = (log.arm_codes == log.arm_names.index(arm)).astype(float) if arm in log.arm_names else np.zeros(log.m)
    has_arm = np.repeat(log.per_event_sum(is_arm), log.sizes)
    return np.where(has_arm > 0, is_arm, 1.0 / np.repeat(log.sizes, log.sizes))


def observed_entry(name: str, observed: Estimate) -> dict[str, Any]:
    """The logging policy's observed mean, in every metric's column."""
    return {
        "name": name,
        "kind": "logging",
        "estimates": {m: observed.as_dict() for m in METRICS},
        "ess": None,
        "max_weight": None,
        "arm_share": [],
    }


def policy_entry(name: str, kind: str, evaluation: PolicyEvaluation) -> dict[str, Any]:
    return {
        "name": name,
        "kind": kind,
        "estimates": {m: e.as_dict() for m, e in evaluation.estimates.items()},
        "ess": evaluation.ess,
        "max_weight": evaluation.max_weight,
        "arm_share": [[arm, share] for arm, share in evaluation.arm_share.items()],
    }
