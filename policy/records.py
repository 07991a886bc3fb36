"""The records the service writes and the trainer reads, each defined once: logged decisions,
reward events and trained policies, with the closed sets of names they use.

The store's documents, the spool's lines and the HTTP answers are derived from these
dataclasses' fields, or checked against them by a test; they are not restated by hand.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar, get_args

from policy.checks import check_range
from policy.features import FeatureValue, check_features

Clock = Callable[[], datetime]
"""Where the time comes from: :func:`utcnow` in production, a controllable clock in tests."""


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (mvt never uses naive or local times)."""
    return datetime.now(UTC)


MAX_ABS_REWARD = 1e12
"""The largest magnitude of a reward (and of an experiment's default reward): VW learns the cost
``-reward`` in 32-bit floats."""

Group = Literal["bandit", "holdout", "paused"]
"""Who a decision served: the bandit, the holdout group (shown the default arm), or everyone
while the experiment is paused."""
GROUPS: tuple[Group, ...] = get_args(Group)

PolicyStatus = Literal["candidate", "active", "rejected", "retired"]


@dataclass(frozen=True)
class Decision:
    """One logged decision.

    ``pmf`` is aligned with ``actions`` (the eligible arms, in experiment order) and
    ``probability == pmf[actions.index(action)]`` is the exact probability the arm was drawn with.
    ``policy_version`` 0 means no trained policy (uniform scores). A ``deferred`` decision counts
    as shown only once it has been activated. ``group`` is ``bandit`` for the policy's traffic,
    ``holdout`` for the control group sent to the default arm, ``paused`` while the experiment is
    paused; ``probability`` is exact in every group. ``candidate_version`` is the candidate
    policy whose greedy choice had its share of the exploration budget in ``pmf`` (None: no
    candidate took part; see :func:`policy.decision.choose_action`).
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
    group: Group = "bandit"
    candidate_version: int | None = None


@dataclass(frozen=True)
class Reward:
    """One reward event for a decision; ``(event_id, reward_id)`` identifies it.

    ``experiment`` and ``decision_ts`` are its decision's, filled in by the store once it
    matched the event to its decision (None as the webhook receives it)."""

    event_id: str
    reward_id: str
    reward: float
    ts: datetime
    experiment: str | None = None
    decision_ts: datetime | None = None


@dataclass(frozen=True)
class PolicyRecord:
    """A trained policy in the registry (its model bytes are stored beside it).

    ``data_from``/``data_to`` bound the decision times it was trained on; ``join`` holds the
    join's counts; ``reason`` says why it has its status.
    """

    experiment: str
    version: int
    status: PolicyStatus
    vw_args: str
    learning: Mapping[str, Any]
    data_from: datetime | None
    data_to: datetime | None
    examples: int
    join: Mapping[str, Any]
    trained_at: datetime
    train_seconds: float
    reason: str = ""
    metrics: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Unreadable:
    """A stored document that is no valid record (written by hand, by a faulty or older
    version): wherever records are read, it is skipped and counted, never fatal."""

    id: str
    reason: str


R = TypeVar("R")


def record_values(record: Any) -> dict[str, Any]:
    """A record's fields by name, their values as they are: what the spool's lines and the
    store's documents are made of (the inverse of :func:`record_of`)."""
    return {name: getattr(record, name) for name in _fields(type(record))[0]}


def record_of(cls: type[R], values: Mapping[str, Any]) -> R:
    """The ``cls`` record of its fields' values as JSON or a document holds them: a sequence
    becomes the tuple its field holds; a field ``values`` lacks takes its default (a record
    written by an older version), and names that are no field are ignored."""
    names, tuples = _fields(cls)
    return cls(**{name: tuple(v) if name in tuples else v for name, v in values.items() if name in names})


_FIELDS: dict[type, tuple[tuple[str, ...], frozenset[str]]] = {}


def _fields(cls: type) -> tuple[tuple[str, ...], frozenset[str]]:
    """A record class's field names, and those of its tuple fields, read once
    (``dataclasses.fields`` builds them on every call, and every logged decision and reward is
    encoded with them)."""
    found = _FIELDS.get(cls)
    if found is None:
        declared = fields(cls)
        found = _FIELDS[cls] = (
            tuple(f.name for f in declared),
            frozenset(f.name for f in declared if str(f.type).startswith("tuple")),
        )
    return found


def check_decision(d: Decision) -> None:
    """Raise ``ValueError`` unless ``d`` keeps the invariants training and replay rely on: a
    valid context, distinct eligible arms holding the chosen one, a pmf over them that sums to 1
    and gives the chosen arm exactly its logged probability in (0, 1], and a candidate version
    that is a policy version (or none)."""
    check_features(d.context, "context")
    if not d.actions or len(set(d.actions)) != len(d.actions) or d.action not in d.actions:
        raise ValueError("`actions` must list distinct arms, the chosen `action` among them")
    check_range("probability", d.probability, 1e-12, 1.0)
    if d.pmf:
        if len(d.pmf) != len(d.actions) or any(not 0.0 <= p <= 1.0 for p in d.pmf):
            raise ValueError("`pmf` must give each eligible arm a probability")
        if abs(math.fsum(d.pmf) - 1.0) > 1e-6 or d.pmf[d.actions.index(d.action)] != d.probability:
            raise ValueError("`pmf` must sum to 1 and give the chosen arm its `probability`")
    if d.group not in GROUPS:
        raise ValueError(f"`group` must be one of {', '.join(GROUPS)}, got {d.group!r}")
    if d.candidate_version is not None and (type(d.candidate_version) is not int or d.candidate_version < 1):
        raise ValueError(f"`candidate_version` must be a policy version (1 or more), got {d.candidate_version!r}")


def check_reward(r: Reward) -> None:
    """Raise ``ValueError`` unless the reward is a finite number within ±``MAX_ABS_REWARD``."""
    check_range("reward", r.reward, -MAX_ABS_REWARD, MAX_ABS_REWARD)
