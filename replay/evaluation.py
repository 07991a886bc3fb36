"""Evaluate target policies on a log: every estimator, diagnostics, and paired comparisons."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np

from replay.dr import dr_terms
from replay.estimate import Estimate, mean_estimate
from replay.ips import ips_terms
from replay.log import BanditLog
from replay.snips import snips_terms, snips_value
from replay.weights import effective_sample_size

Metric = Literal["ips", "snips", "dr"]
"""The estimators every evaluation computes; a promotion rule names one of them."""
METRICS: tuple[Metric, ...] = get_args(Metric)


@dataclass(frozen=True)
class PolicyEvaluation:
    """A target policy's estimated value by IPS, SNIPS and DR, with diagnostics.

    ``ess`` is Kish's effective sample size of the importance weights and ``max_weight`` the
    largest weight; ``arm_share`` is the average probability the policy gives each arm.
    ``terms`` keeps the per-event terms of each estimator for paired comparisons.
    """

    estimates: dict[Metric, Estimate]
    ess: float
    max_weight: float
    arm_share: dict[str, float]
    terms: dict[Metric, np.ndarray] = field(repr=False)
    centers: dict[Metric, float | None] = field(repr=False)


def check_target(log: BanditLog, target: np.ndarray) -> np.ndarray:
    """Validate a flat (m,) target pmf: probabilities that sum to 1 within every event."""
    target = np.asarray(target, dtype=float)
    if target.shape != (log.m,):
        raise ValueError(f"`target` must have one probability per eligible arm ({log.m}), got {target.shape}")
    if np.any(target < 0) or np.any(target > 1) or not np.allclose(log.per_event_sum(target), 1.0, atol=1e-9):
        raise ValueError("`target` must be a probability distribution over each event's eligible arms")
    return target


def evaluate(log: BanditLog, target: np.ndarray, level: float = 0.95) -> PolicyEvaluation:
    """Estimate the value of the policy that plays ``target`` (flat pmf, one entry per row of
    ``log``) from the logged events.

    DR uses ``log.predicted`` as its reward model (zeros make DR equal to IPS).
    """
    target = check_target(log, target)
    rows = log.chosen_rows()
    weights = target[rows] / log.propensity
    terms: dict[Metric, np.ndarray] = {
        "ips": ips_terms(weights, log.reward),
        "snips": snips_terms(weights, log.reward),
        "dr": dr_terms(weights, log.reward, log.per_event_sum(target * log.predicted), log.predicted[rows]),
    }
    centers: dict[Metric, float | None] = {"ips": None, "snips": snips_value(weights, log.reward), "dr": None}
    estimates = {m: mean_estimate(terms[m], level, centers[m]) for m in METRICS}
    share = np.bincount(log.arm_codes, weights=target, minlength=len(log.arm_names)) / log.n
    return PolicyEvaluation(
        estimates,
        effective_sample_size(weights),
        float(weights.max()),
        {a: float(s) for a, s in zip(log.arm_names, share)},
        terms,
        centers,
    )


def compare(a: PolicyEvaluation, b: PolicyEvaluation, metric: Metric, level: float = 0.95) -> Estimate:
    """Paired estimate of ``value(a) - value(b)`` on the same events: the interval comes from
    the per-event differences of the two policies' terms, far narrower than two separate
    intervals because both share the events' noise."""
    if metric not in METRICS:
        raise ValueError(f"`metric` must be one of {', '.join(METRICS)}, got {metric!r}")
    center_a, center_b = a.centers[metric], b.centers[metric]
    center = None if center_a is None or center_b is None else center_a - center_b
    return mean_estimate(a.terms[metric] - b.terms[metric], level, center)


def on_policy(log: BanditLog, level: float = 0.95) -> Estimate:
    """The logging policy's value: the mean observed reward."""
    return mean_estimate(log.reward, level)
