"""The logged data the trainer learns from: decisions, reward events and activations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from policy.features import FeatureValue


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (mvt never uses naive or local times)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Decision:
    """One logged decision.

    ``pmf`` is aligned with ``actions`` (the eligible arms, in experiment order) and
    ``probability == pmf[actions.index(action)]`` is the exact probability the arm was drawn with.
    ``policy_version`` 0 means no trained policy (uniform scores). A ``deferred`` decision counts
    as shown only once it has been activated. ``group`` is ``bandit`` for the policy's traffic,
    ``holdout`` for the control group sent to the default arm, ``paused`` while the experiment is
    paused; ``probability`` is exact in every group.
    """

    event_id: str
    experiment: str
    ts: datetime
    context: Mapping[str, FeatureValue]
    actions: tuple[str, ...]
    action: str
    probability: float
    pmf: tuple[float, ...]
    policy_version: int
    epsilon: float
    explored: bool
    deferred: bool = False
    group: str = "bandit"


@dataclass(frozen=True)
class Reward:
    """One reward event for a decision; ``(event_id, reward_id)`` identifies it."""

    event_id: str
    reward_id: str
    reward: float
    ts: datetime


POLICY_STATUSES = ("candidate", "active", "rejected", "retired")


@dataclass(frozen=True)
class PolicyRecord:
    """A trained policy in the registry (its model bytes are stored beside it).

    ``data_from``/``data_to`` bound the decision times it was trained on; ``join`` holds the
    join's counts; ``reason`` says why it has its status.
    """

    experiment: str
    version: int
    status: str
    vw_args: str
    learning: Mapping[str, object]
    data_from: datetime | None
    data_to: datetime | None
    examples: int
    join: Mapping[str, object]
    trained_at: datetime
    train_seconds: float
    reason: str = ""
    metrics: Mapping[str, object] | None = None
