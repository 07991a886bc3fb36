"""Offline replay of a training cycle: evaluate the candidate, the active policy and the baselines
on held-out events, and decide whether the candidate is promoted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from policy.decision import score_arms
from policy.experiment import Experiment
from policy.exploration import EpsilonGreedy, ExplorationStrategy
from policy.learning import LearningSettings
from policy.model import VWModel
from replay.estimate import Estimate
from replay.evaluation import METRICS, PolicyEvaluation, compare, evaluate, on_policy
from replay.log import BanditLog
from trainer.join import Example
from trainer.train import encode

REWARD_MODEL = LearningSettings(cb_type="mtr", interactions=("UA",))
"""DR's reward model: a VW regression trained on the cycle's training part only (never on the
held-out events it corrects), shared by every evaluated policy so that paired differences use
the same model."""

GREEDY = EpsilonGreedy(0.0)


@dataclass(frozen=True)
class Verdict:
    promoted: bool
    reason: str


Encoded = Sequence[tuple[str, list[str]]]


def held_out_log(examples: Sequence[Example], encoded: Encoded, reward_model: VWModel) -> BanditLog:
    """The held-out events as a bandit log, with DR's reward-model predictions for every arm."""
    return bandit_log(examples, predictions(reward_model, encoded))


def predictions(reward_model: VWModel, encoded: Encoded) -> list[list[float]]:
    """The reward model's prediction for every eligible arm of every encoded event."""
    return [score_arms(reward_model, context, lines)[0] for context, lines in encoded]


def bandit_log(examples: Sequence[Example], predicted: Sequence[Sequence[float]]) -> BanditLog:
    """Examples as a bandit log, with ``predicted`` rewards for every eligible arm."""
    return BanditLog.build(
        [e.actions for e in examples],
        [e.chosen for e in examples],
        [e.probability for e in examples],
        [e.reward for e in examples],
        predicted,
    )


def model_targets(
    model: VWModel | None, encoded: Encoded, strategies: Sequence[ExplorationStrategy]
) -> list[np.ndarray]:
    """Flat pmfs (one per strategy) of a model's policy on every held-out event; without a
    model every arm ties, as in serving."""
    pmfs: list[list[float]] = [[] for _ in strategies]
    for context, lines in encoded:
        scores, _ = score_arms(model, context, lines)
        for flat, strategy in zip(pmfs, strategies):
            flat.extend(strategy.pmf(scores))
    return [np.asarray(flat) for flat in pmfs]


def fixed_arm_target(log: BanditLog, arm: str) -> np.ndarray:
    """Always ``arm`` where it is eligible; uniform over the eligible arms where it is not."""
    is_arm = (log.arm_codes == log.arm_names.index(arm)).astype(float) if arm in log.arm_names else np.zeros(log.m)
    has_arm = np.repeat(log.per_event_sum(is_arm), log.sizes)
    return np.where(has_arm > 0, is_arm, 1.0 / np.repeat(log.sizes, log.sizes))


def replay_report(
    experiment: Experiment,
    examples: Sequence[Example],
    arm_lines: Mapping[str, str],
    *,
    candidate: tuple[int, VWModel],
    active: tuple[int | None, VWModel | None],
    reward_model: VWModel,
    train_events: int,
    split_ts: datetime | None,
    now: datetime,
) -> tuple[dict[str, Any], Verdict]:
    """Evaluate every policy on the held-out ``examples`` and apply the promotion gate.

    Returns the report (a JSON-compatible document) and the verdict. The candidate and the
    active policy are each evaluated greedy and with the experiment's current exploration; the
    gate compares the exploring versions, which are what would be served.
    """
    promotion = experiment.promotion
    level = promotion.confidence
    current = experiment.strategy
    candidate_version, candidate_model = candidate
    active_version, active_model = active
    active_name = f"active v{active_version}" if active_version is not None else "no policy (uniform)"
    candidate_name = f"candidate v{candidate_version}"
    eps = f"ε={current.epsilon:g}"

    if not examples:
        verdict = Verdict(False, f"no held-out events; promotion.min_events is {promotion.min_events}")
        return _document(
            experiment, candidate_version, active_version, now, train_events, 0, split_ts, [], None, verdict, level
        ), verdict

    encoded = [encode(e, arm_lines) for e in examples]  # once, for the three models
    log = held_out_log(examples, encoded, reward_model)
    cand_explore, cand_greedy = model_targets(candidate_model, encoded, [current, GREEDY])
    act_explore, act_greedy = model_targets(active_model, encoded, [current, GREEDY])
    # the gate compares the exploring versions: what would be served
    candidate_served = (f"{candidate_name} ({eps})", "candidate", evaluate(log, cand_explore, level))
    active_served = (f"{active_name} ({eps})", "active", evaluate(log, act_explore, level))
    evaluated: list[tuple[str, str, PolicyEvaluation]] = [
        candidate_served,
        (f"{candidate_name} (greedy)", "candidate", evaluate(log, cand_greedy, level)),
        active_served,
        (f"{active_name} (greedy)", "active", evaluate(log, act_greedy, level)),
        ("uniform random", "uniform", evaluate(log, 1.0 / np.repeat(log.sizes, log.sizes), level)),
    ]
    evaluated += [
        (f"always {arm}", "fixed", evaluate(log, fixed_arm_target(log, arm), level)) for arm in experiment.arm_ids
    ]
    difference = compare(candidate_served[2], active_served[2], promotion.metric, level)
    verdict = _gate(log.n, difference, experiment)
    policies = [_observed_entry("logging policy (observed mean)", on_policy(log, level))]
    policies += [_policy_entry(name, kind, e) for name, kind, e in evaluated]
    comparison = {
        "metric": promotion.metric,
        "candidate": candidate_served[0],
        "active": active_served[0],
        "difference": difference.as_dict(),
    }
    return _document(
        experiment,
        candidate_version,
        active_version,
        now,
        train_events,
        log.n,
        split_ts,
        policies,
        comparison,
        verdict,
        level,
    ), verdict


def _gate(n: int, difference: Estimate, experiment: Experiment) -> Verdict:
    promotion = experiment.promotion
    if n < promotion.min_events:
        return Verdict(False, f"only {n} held-out events; promotion.min_events is {promotion.min_events}")
    interval = (
        f"candidate − active = {difference.value:+.4g} [{difference.low:+.4g}, {difference.high:+.4g}] "
        f"by {promotion.metric.upper()} at {promotion.confidence:.0%} on {n} held-out events"
    )
    if difference.low > promotion.min_improvement:
        return Verdict(True, f"{interval}: the lower bound exceeds min_improvement {promotion.min_improvement:g}")
    return Verdict(False, f"{interval}: the lower bound does not exceed min_improvement {promotion.min_improvement:g}")


def _observed_entry(name: str, observed: Estimate) -> dict[str, Any]:
    """The logging policy's observed mean, in every metric's column."""
    return {
        "name": name,
        "kind": "logging",
        "estimates": {m: observed.as_dict() for m in METRICS},
        "ess": None,
        "max_weight": None,
        "arm_share": [],
    }


def _policy_entry(name: str, kind: str, evaluation: PolicyEvaluation) -> dict[str, Any]:
    return {
        "name": name,
        "kind": kind,
        "estimates": {m: e.as_dict() for m, e in evaluation.estimates.items()},
        "ess": evaluation.ess,
        "max_weight": evaluation.max_weight,
        "arm_share": [[arm, share] for arm, share in evaluation.arm_share.items()],
    }


def _document(
    experiment: Experiment,
    candidate_version: int,
    active_version: int | None,
    now: datetime,
    train_events: int,
    holdout_events: int,
    split_ts: datetime | None,
    policies: list[dict[str, Any]],
    comparison: dict[str, Any] | None,
    verdict: Verdict,
    level: float,
) -> dict[str, Any]:
    return {
        "experiment": experiment.id,
        "candidate_version": candidate_version,
        "active_version": active_version,
        "created_at": now,
        "confidence": level,
        "epsilon": experiment.epsilon,
        "split": {"train_events": train_events, "holdout_events": holdout_events, "split_ts": split_ts},
        "reward_model": f"DR reward model: VW {REWARD_MODEL.vw_args()} trained on the training part only",
        "policies": policies,
        "comparison": comparison,
        "verdict": {"promoted": verdict.promoted, "reason": verdict.reason},
    }
