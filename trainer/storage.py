"""What the trainer needs from storage. The service's MongoDB store provides it; the trainer
itself knows no database."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from policy.experiment import Experiment
from policy.records import Decision, PolicyRecord, Reward, Unreadable

Key = tuple[datetime, str]
"""``(decision time, event id)``: the order in which a cycle reads decisions and their events."""


@dataclass(frozen=True)
class Lease:
    """A held lease, when its previous holder last finished a run (None: never), and the runs
    that failed since then: how many, the last one's time and error."""

    name: str
    owner: str
    expires_at: datetime
    last_finished: datetime | None
    failures: int = 0
    last_failed: datetime | None = None
    last_error: str | None = None


class TrainerStore(Protocol):
    def get_experiment(self, experiment_id: str) -> Experiment | None: ...

    def list_experiments(self) -> list[Experiment]: ...

    def decisions_between(
        self, experiment_id: str, start: datetime | None, end: datetime
    ) -> Iterator[Decision | Unreadable]:
        """The experiment's decisions made in ``[start, end)`` (from the first if ``start`` is
        None), sorted by ``(ts, event_id)``; invalid ones as :class:`Unreadable`."""

    def rewards_between(
        self, experiment_id: str, start: datetime | None, end: datetime
    ) -> Iterator[Reward | Unreadable]:
        """Reward events of those decisions, sorted by ``(decision_ts, event_id)``; invalid ones
        as :class:`Unreadable`."""

    def activations_between(self, experiment_id: str, start: datetime | None, end: datetime) -> Iterator[Key]:
        """``(decision time, event id)`` of those decisions that were activated, sorted."""

    def policy_model(self, experiment_id: str, version: int) -> bytes | None: ...

    def get_policy(self, experiment_id: str, version: int) -> PolicyRecord | None: ...

    def deactivate_policy(self, experiment_id: str, reason: str) -> None:
        """Stop serving the active policy (uniform random serves); it is retired with ``reason``."""

    def latest_policy(self, experiment_id: str) -> PolicyRecord | None:
        """The experiment's newest policy, whatever its status."""

    def insert_report(self, report: Mapping[str, object]) -> None: ...

    def next_policy_version(self, experiment_id: str) -> int: ...

    def insert_policy(self, record: PolicyRecord, model: bytes) -> None: ...

    def activate_policy(self, experiment_id: str, version: int, reason: str) -> PolicyRecord | None:
        """Make ``version`` the active policy (the previous one is retired); None if there is
        no such policy."""

    def reject_policy(self, experiment_id: str, version: int, reason: str) -> None: ...

    def offer_candidate(self, experiment_id: str, version: int | None, serving: int | None) -> bool:
        """Make ``version`` the candidate (None: none) if ``serving`` is still active."""

    def acquire_lease(self, name: str, owner: str, now: datetime, seconds: float) -> Lease | None:
        """Take the lease ``name`` until ``now + seconds`` unless another owner holds an
        unexpired one (then None)."""

    def release_lease(self, name: str, owner: str, finished_at: datetime | None, error: str | None = None) -> None:
        """Give the lease up, recording ``finished_at`` as the last run's end if given (which
        clears the failures), or, with an ``error``, as the time that run failed."""

    def insert_audit(self, entry: Mapping[str, Any]) -> None:
        """Record an entry of the audit log (``ts``, ``experiment``, ``key_id``, ``action``,
        ``before``, ``after``)."""
