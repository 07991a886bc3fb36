"""What the store layer provides: one protocol per aggregate, and :class:`Store`, the
repositories of one database together.

Every repository takes and returns declared records (:mod:`policy.records`,
:class:`policy.experiment.Experiment`, :mod:`store.records`), never a backend's documents, and
raises :class:`store.errors.StoreUnavailable` when the database cannot serve now. A backend
(today MongoDB, :mod:`store.mongo`) implements them all; ``tests/store`` is the contract each
must pass.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from policy.experiment import Experiment
from policy.records import Clock, Decision, PolicyRecord, Reward, Unreadable, utcnow
from store.records import AuditEntry, ExperimentPatch, ExperimentState, Key, Lease, Report, Sweep, Visit


class Experiments(Protocol):
    """Experiment definitions and their operator settings, each with a revision that every
    change bumps (compare and swap on it keeps concurrent edits apart)."""

    def put(self, experiment: Experiment, expected_revision: int | None = None) -> tuple[Experiment, bool]:
        """Create or replace an experiment's definition (its operator state, ``paused`` and the
        serving and candidate policies, is kept); return it as stored, with its new revision,
        and whether it was created. ``expected_revision`` 0 creates only.

        Raises
        ------
        StaleRevision
            If ``expected_revision`` is given and the stored experiment is not at it.
        """
        ...

    def update(
        self, experiment_id: str, patch: ExperimentPatch, expected_revision: int | None = None
    ) -> Experiment | None:
        """Set the patch's settings atomically and bump the revision; None if there is no such
        experiment.

        Raises
        ------
        StaleRevision
            If ``expected_revision`` is given and the stored experiment is not at it.
        """
        ...

    def insert_if_absent(self, experiment: Experiment) -> bool:
        """Store ``experiment`` unless one with its id exists; return whether it was stored."""
        ...

    def get(self, experiment_id: str) -> Experiment | None: ...

    def list(self) -> list[Experiment]:
        """Every experiment, by id."""
        ...

    def states(self) -> dict[str, ExperimentState]:
        """Each experiment's revision, serving policy and candidate: a cheap poll for changes."""
        ...


class EventLog(Protocol):
    """Decisions and what happens after them (rewards, activations), and the visits that pin a
    visitor's decision: one aggregate, since writing a decision adopts the events that wait for
    it and writing an event looks its decision up.

    An event whose decision is not stored yet (still in another worker's queue or spool, or
    never: an orphan) waits; it is adopted when its decision is written, and dropped
    ``pending_seconds`` after it arrived if none was (:meth:`sweep`). Events are read by their
    decision's experiment and time, however many other experiments or unknown event ids there
    are.
    """

    def insert_decisions(self, decisions: Sequence[Decision]) -> int:
        """Insert decisions, skipping any already stored (retries are safe); return how many
        were new."""
        ...

    def insert_decision_once(self, decision: Decision) -> Decision:
        """Insert ``decision`` unless its event id is taken; return the stored decision."""
        ...

    def get_decision(self, event_id: str) -> Decision | None: ...

    def visit(self, experiment_id: str, visitor: str) -> Visit | None:
        """The decision last kept for ``visitor`` in the experiment, and until when (it may have
        expired: it is removed some time after)."""
        ...

    def keep_visit(self, visitor: str, decision: Decision, until: datetime, replacing: Visit | None) -> Decision:
        """Keep ``decision`` as ``visitor``'s until ``until``, unless another live decision is
        kept for it (another worker's, decided at the same time): return the decision that is
        kept, which is the visitor's answer. ``replacing`` is the visit this one replaces, as
        :meth:`visit` read it; it is replaced only if it is still the one stored (compare and
        swap), so parallel requests of one visitor agree on one decision on any number of
        workers."""
        ...

    def activate(self, event_id: str, ts: datetime) -> bool:
        """Record that a deferred decision was shown; return False if it already was."""
        ...

    def insert_rewards(self, rewards: Sequence[Reward]) -> tuple[int, int]:
        """Insert reward events idempotently on ``(event_id, reward_id)``; return the counts of
        new and duplicate events."""
        ...

    def rewards_of(self, event_id: str) -> list[Reward]:
        """The reward events of one decision, matched to it or waiting for it, by reward id."""
        ...

    def reward_ids(self) -> set[tuple[str, str]]:
        """``(event_id, reward_id)`` of every stored reward event, matched to its decision or
        waiting for it: what the webhook accepted and the log wrote."""
        ...

    def decisions_between(
        self, experiment_id: str, start: datetime | None, end: datetime
    ) -> Iterator[Decision | Unreadable]:
        """The experiment's decisions made in ``[start, end)`` (from the first if ``start`` is
        None), sorted by ``(ts, event_id)``; a stored decision that is not valid comes as
        :class:`Unreadable`."""
        ...

    def rewards_between(
        self, experiment_id: str, start: datetime | None, end: datetime
    ) -> Iterator[Reward | Unreadable]:
        """Reward events of the experiment's decisions made in ``[start, end)``, sorted by
        ``(decision_ts, event_id)``; an invalid one comes as :class:`Unreadable`."""
        ...

    def activations_between(self, experiment_id: str, start: datetime | None, end: datetime) -> Iterator[Key]:
        """``(decision time, event id)`` of the activated decisions of the experiment made in
        ``[start, end)``, sorted."""
        ...

    def sweep(self, now: datetime) -> Sweep:
        """Adopt the waiting events whose decision is stored by now, then drop those past their
        expiry (orphans, whose decision never came)."""
        ...


class PolicyRegistry(Protocol):
    """Trained policies with their models, and which of them an experiment serves and offers
    as its candidate (kept with the experiment, which workers poll)."""

    def next_version(self, experiment_id: str) -> int: ...

    def insert(self, record: PolicyRecord, model: bytes) -> None:
        """Add a trained policy and its model bytes."""
        ...

    def list(self, experiment_id: str) -> list[PolicyRecord]:
        """The experiment's policies, newest first (without their models)."""
        ...

    def latest(self, experiment_id: str) -> PolicyRecord | None:
        """The experiment's newest policy, whatever its status."""
        ...

    def get(self, experiment_id: str, version: int) -> PolicyRecord | None: ...

    def model(self, experiment_id: str, version: int) -> bytes | None: ...

    def activate(self, experiment_id: str, version: int, reason: str) -> PolicyRecord | None:
        """Make ``version`` the experiment's serving policy in one atomic switch, which also
        ends the candidate's share, and retire the one it served before; return the activated
        record, or None if there is no such policy."""
        ...

    def deactivate(self, experiment_id: str, reason: str) -> None:
        """Stop serving the active policy: uniform random serves, and the policy is retired with
        ``reason``."""
        ...

    def offer_candidate(self, experiment_id: str, version: int | None, serving: int | None) -> bool:
        """Make ``version`` the experiment's candidate (None: none) if ``serving`` is still its
        serving policy; return whether it was set. A switch of the serving policy in the
        meantime (promotion, rollback, retirement) clears the candidate and makes this offer
        fail, so only a learner registered after the serving policy was activated is offered."""
        ...

    def reject(self, experiment_id: str, version: int, reason: str) -> None:
        """Mark a policy as rejected by the promotion gate, with the gate's reason."""
        ...


class Reports(Protocol):
    """The replay reports of training cycles."""

    def insert(self, report: Report) -> None: ...

    def list(self, experiment_id: str, limit: int = 50) -> list[Report]:
        """The experiment's reports, newest first."""
        ...


class AuditLog(Protocol):
    """Who changed what, and when."""

    def insert(self, entry: AuditEntry) -> None: ...

    def list(self, experiment_id: str | None = None, limit: int = 100) -> list[AuditEntry]:
        """Changes, newest first, of one experiment or all."""
        ...


class Leases(Protocol):
    """Named leases that keep trainers apart, with the record of the runs made under them."""

    def get(self, name: str) -> Lease | None:
        """The lease as stored, without taking it."""
        ...

    def acquire(self, name: str, owner: str, now: datetime, seconds: float) -> Lease | None:
        """Take the lease until ``now + seconds`` unless another owner holds an unexpired one
        (then None); of two contenders exactly one gets it."""
        ...

    def release(self, name: str, owner: str, finished_at: datetime | None, error: str | None = None) -> None:
        """Give the lease up; record ``finished_at`` as its last run's end if given (clearing
        the failures), or, with an ``error``, as the time that run failed (counted)."""
        ...


class Backend(Protocol):
    """One database: its schema, its health, and the repositories over it."""

    def ensure_schema(self, retention_days: int | None = None) -> None:
        """Create what the repositories rely on (idempotent), and make decisions, rewards and
        activations expire ``retention_days`` after their time (None: never)."""
        ...

    def ping(self) -> None:
        """Raise :class:`store.errors.StoreUnavailable` if the database cannot be reached."""
        ...

    def store(self, clock: Clock = utcnow, pending_seconds: float = 86_400.0) -> Store:
        """The repositories over this database; ``clock`` stamps what they write."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Store:
    """The repositories of one database, and ``clock``, the one source of the time for
    everything the service stamps: decisions, rewards, activations, audit entries, training
    cycles (tests pass a controllable one)."""

    backend: Backend
    experiments: Experiments
    events: EventLog
    policies: PolicyRegistry
    reports: Reports
    audit: AuditLog
    leases: Leases
    clock: Clock
