"""A cycle's replay report: every policy's estimated value on the events the cycle scored (each
by a learner that had not learned it: :mod:`trainer.progressive`), and the evidence the
promotion rule read."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from policy.experiment import Experiment
from replay.evaluation import PolicyEvaluation, evaluate, on_policy
from replay.sequence import Evidence
from trainer.progressive import Scored
from trainer.promotion import Verdict
from trainer.scoring import fixed_arm_target, observed_entry, policy_entry

REWARD_MODEL = (
    "the scores of each event by the version judged, which had not learned it: the learner before it learned "
    "it, the candidate as it was offered, or, for a new learner, learners trained on the other folds"
)


@dataclass(frozen=True)
class Evaluated:
    """Every policy's evaluation on a cycle's events, and the per-event terms (by the promotion
    metric) that join the evidence: learner − serving, the learner, serving, uniform random."""

    entries: list[tuple[str, str, PolicyEvaluation]]
    observed: Any
    difference: np.ndarray
    learner: np.ndarray
    serving: np.ndarray
    uniform: np.ndarray
    learner_name: str
    serving_name: str


def evaluate_cycle(experiment: Experiment, scored: Scored, learner_name: str, serving_name: str) -> Evaluated:
    """Evaluate the learner and the serving policy (with the experiment's exploration, and
    greedy), uniform random and every fixed arm on the scored events."""
    log, level, metric = scored.log, experiment.promotion.confidence, experiment.promotion.metric
    eps = f"ε={experiment.epsilon:g}"
    learner = evaluate(log, scored.learner, level)
    serving = evaluate(log, scored.serving, level)
    uniform = evaluate(log, 1.0 / np.repeat(log.sizes, log.sizes), level)
    entries = [
        (f"{learner_name} ({eps})", "candidate", learner),
        (f"{learner_name} (greedy)", "candidate", evaluate(log, scored.learner_greedy, level)),
        (f"{serving_name} ({eps})", "active", serving),
        (f"{serving_name} (greedy)", "active", evaluate(log, scored.serving_greedy, level)),
        ("uniform random", "uniform", uniform),
    ]
    entries += [
        (f"always {arm}", "fixed", evaluate(log, fixed_arm_target(log, arm), level)) for arm in experiment.arm_ids
    ]
    return Evaluated(
        entries,
        on_policy(log, level),
        learner.terms[metric] - serving.terms[metric],
        learner.terms[metric],
        serving.terms[metric],
        uniform.terms[metric],
        f"{learner_name} ({eps})",
        f"{serving_name} ({eps})",
    )


def report_document(
    experiment: Experiment,
    evaluated: Evaluated,
    *,
    version: int,
    judged: int,
    active_version: int | None,
    now: datetime,
    window: tuple[datetime | None, datetime],
    mode: str,
    evidence: Evidence,
    verdict: Verdict,
    online: dict[str, Any] | None,
    search: dict[str, Any] | None,
) -> dict[str, Any]:
    """The report's document: JSON values and datetimes (``created_at``, the split's ends),
    which the store keeps as they are and the API encodes as ISO 8601."""
    events = int(evaluated.difference.size)
    policies = [observed_entry("logging policy (observed mean)", evaluated.observed)]
    policies += [policy_entry(name, kind, e) for name, kind, e in evaluated.entries]
    return {
        "experiment": experiment.id,
        "candidate_version": version,
        "judged_version": judged,
        "active_version": active_version,
        "created_at": now,
        "confidence": experiment.promotion.confidence,
        "epsilon": experiment.epsilon,
        "mode": mode,
        "split": {"events": events, "from": window[0], "to": window[1]},
        "reward_model": REWARD_MODEL,
        "policies": policies,
        "comparison": {
            "metric": experiment.promotion.metric,
            "candidate": evaluated.learner_name,
            "active": evaluated.serving_name,
            "rule": verdict.rule,
            "cycle": {"value": float(evaluated.difference.mean()), "events": events},
            "difference": {"value": evidence.mean, "low": _finite(verdict.low), "high": _finite(verdict.high)},
            "events": evidence.n,
            "looks": evidence.looks,
            "threshold": verdict.threshold,
        },
        "verdict": {"promoted": verdict.promoted, "reason": verdict.reason},
        "online": online,
        "search": search,
    }


def _finite(x: float) -> float | None:
    """``x``, or None for an unbounded end (an interval before any look), which JSON cannot hold."""
    return x if math.isfinite(x) else None
