"""The logged data the trainer learns from: decisions, reward events and activations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from policy.features import FeatureValue


@dataclass(frozen=True)
class Decision:
    """One logged decision.

    ``pmf`` is aligned with ``actions`` (the eligible arms, in experiment order) and
    ``probability == pmf[actions.index(action)]`` is the exact probability the arm was drawn with.
    ``policy_version`` 0 means no trained policy (uniform scores). A ``deferred`` decision counts
    as shown only once it has been activated.
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


@dataclass(frozen=True)
class Reward:
    """One reward event for a decision; ``(event_id, reward_id)`` identifies it."""

    event_id: str
    reward_id: str
    reward: float
    ts: datetime
