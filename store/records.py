"""The records the store layer takes and returns besides those of :mod:`policy.records`
(decisions, rewards, policies) and :class:`policy.experiment.Experiment`: each defined once,
with the closed sets of names they use."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from policy.records import Decision

Key = tuple[datetime, str]
"""``(decision time, event id)``: the order in which a cycle reads decisions and their events."""

EventKind = Literal["reward", "activation"]
"""What happens to a decision after it: the events that wait for their decision."""
EVENT_KINDS: tuple[EventKind, ...] = get_args(EventKind)


@dataclass(frozen=True)
class ExperimentState:
    """What a worker polls for (:meth:`store.repositories.Experiments.states`): the experiment's
    revision, its serving policy and its candidate (None: none)."""

    revision: int
    active_policy: int | None
    candidate_policy: int | None


@dataclass(frozen=True)
class ExperimentPatch:
    """The operator settings an edit may set on their own, atomically; None leaves one as it is."""

    epsilon: float | None = None
    candidate_share: float | None = None
    holdout: float | None = None
    paused: bool | None = None

    def is_empty(self) -> bool:
        return all(value is None for value in (self.epsilon, self.candidate_share, self.holdout, self.paused))


@dataclass(frozen=True)
class Visit:
    """A visitor's kept decision and when it stops being theirs."""

    decision: Decision
    until: datetime


@dataclass(frozen=True)
class Sweep:
    """What a sweep of the events waiting for their decision did: how many it adopted (their
    decision had arrived), how many of each kind expired (orphans), and how many still wait."""

    adopted: int
    expired: Mapping[EventKind, int]
    waiting: int


@dataclass(frozen=True)
class Lease:
    """A lease as stored: its holder until ``expires_at``, when a holder last finished a run
    (None: never), and the runs that failed since then: how many, the last one's time and error."""

    name: str
    owner: str
    expires_at: datetime
    last_finished: datetime | None
    failures: int = 0
    last_failed: datetime | None = None
    last_error: str | None = None


def training_lease(experiment_id: str) -> str:
    """The name of the lease a trainer holds while it trains (or searches) the experiment."""
    return f"train:{experiment_id}"


AuditAction = Literal[
    "create",
    "replace",
    "set_exploration",
    "set_holdout",
    "pause",
    "resume",
    "enable_arm",
    "disable_arm",
    "activate_policy",
    "train",
    "policy_promoted",
    "policy_retired",
    "training_failed",
]
"""What an audit entry records: an operator's change, or the trainer's (the last three)."""
AUDIT_ACTIONS: tuple[AuditAction, ...] = get_args(AuditAction)


@dataclass(frozen=True)
class AuditEntry:
    """One change in the audit log: when, by whom (a key id or a trainer, never a secret), what,
    and the state before and after (JSON values)."""

    ts: datetime
    experiment: str
    key_id: str
    action: AuditAction
    before: Any
    after: Any


@dataclass(frozen=True)
class Report:
    """A training cycle's replay report: its experiment, the version the cycle trained, when,
    and the report itself (:func:`trainer.report.report_document`, a document of JSON values and
    datetimes; its fields are the report's own)."""

    experiment: str
    version: int
    created: datetime
    document: dict[str, Any] = field(default_factory=dict)
