"""Read logged bandit events from JSON lines, for evaluating any policy on any log.

One object per line::

    {"action": "b", "probability": 0.25, "reward": 1.0, "target": {"a": 0.1, "b": 0.9},
     "actions": ["a", "b", "c"], "context": {"device": "mobile"}}

``action`` is the logged arm, ``probability`` its logging probability, ``reward`` the observed
reward and ``target`` the evaluated policy's probabilities. ``actions`` (optional) lists the
eligible arms; without it they are the target's arms plus the logged one. Arms missing from
``target`` get probability 0. ``context`` is accepted and ignored by the estimators.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from replay.log import BanditLog

KEYS = {"action", "probability", "reward", "target", "actions", "context"}


class LogFileError(ValueError):
    """Invalid lines, each reported as ``line N: problem``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class LoggedEvents:
    log: BanditLog
    target: np.ndarray


def _event(obj: object) -> tuple[list[str], int, float, float, list[float]]:
    if not isinstance(obj, dict):
        raise ValueError("must be a JSON object")
    unknown = set(obj) - KEYS
    if unknown:
        raise ValueError(f"unknown field `{sorted(unknown)[0]}`")
    for key in ("action", "probability", "reward", "target"):
        if key not in obj:
            raise ValueError(f"`{key}` is missing")
    action, target = obj["action"], obj["target"]
    if not isinstance(action, str):
        raise ValueError("`action` must be a string")
    for key in ("probability", "reward"):
        value = obj[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"`{key}` must be a finite number")
    if not 0 < obj["probability"] <= 1:
        raise ValueError("`probability` must be in (0, 1]")
    if not isinstance(target, dict) or not target:
        raise ValueError("`target` must be a non-empty object of arm probabilities")
    if any(isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1 for p in target.values()):
        raise ValueError("`target` probabilities must be numbers in [0, 1]")
    if abs(math.fsum(target.values()) - 1.0) > 1e-6:
        raise ValueError("`target` probabilities must sum to 1")
    if "actions" in obj:
        eligible = obj["actions"]
        if (
            not isinstance(eligible, list)
            or not all(isinstance(a, str) for a in eligible)
            or len(set(eligible)) != len(eligible)
        ):
            raise ValueError("`actions` must be a list of distinct arm ids")
        if action not in eligible or not set(target) <= set(eligible):
            raise ValueError("`action` and every `target` arm must be in `actions`")
    else:
        eligible = sorted(set(target) | {action})
    return (
        eligible,
        eligible.index(action),
        float(obj["probability"]),
        float(obj["reward"]),
        [float(target.get(a, 0.0)) for a in eligible],
    )


def read_events(lines: Iterable[str]) -> LoggedEvents:
    """Parse JSON lines (blank lines are skipped).

    Raises
    ------
    LogFileError
        Listing every invalid line by its number; nothing is silently dropped.
    """
    eligible, chosen, propensity, reward, target, problems = [], [], [], [], [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            arms, index, p, r, t = _event(json.loads(line.rstrip("\r\n")))  # a column past the end is the end
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        except ValueError as exc:
            problems.append(f"line {number}: {exc}")
            continue
        eligible.append(arms)
        chosen.append(index)
        propensity.append(p)
        reward.append(r)
        target.extend(t)
    if problems:
        raise LogFileError(problems)
    if not eligible:
        raise LogFileError(["the file holds no event"])
    log = BanditLog.build(eligible, chosen, propensity, reward)
    return LoggedEvents(with_arm_means(log), np.asarray(target))


def with_arm_means(log: BanditLog) -> BanditLog:
    """The log with a cross-fitted per-arm mean reward as DR's reward model: events at even
    positions are predicted from the odd ones and vice versa, so no event's own reward enters
    its prediction. An arm never logged in the other half gets that half's mean reward."""
    fold = np.arange(log.n) % 2
    chosen_arms = log.arm_codes[log.chosen_rows()]
    row_fold = np.repeat(fold, log.sizes)
    predicted = np.zeros(log.m)
    arms = len(log.arm_names)
    for k in (0, 1):
        other = fold != k
        overall = float(log.reward[other].mean()) if other.any() else 0.0
        totals = np.bincount(chosen_arms[other], weights=log.reward[other], minlength=arms)
        counts = np.bincount(chosen_arms[other], minlength=arms)
        means = np.where(counts > 0, totals / np.maximum(counts, 1), overall)
        rows = row_fold == k
        predicted[rows] = means[log.arm_codes[rows]]
    return BanditLog(log.chosen, log.propensity, log.reward, log.offsets, log.arm_codes, log.arm_names, predicted)
