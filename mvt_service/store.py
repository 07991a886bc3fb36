"""The MongoDB data layer: the one place that reads and writes documents.

:class:`Store` takes a pymongo ``Database``, real or mongomock, and uses only operations both
support, so the embedded store runs the production code path. Raw documents never leave this
module: they are converted to frozen dataclasses here.

User-supplied mappings (contexts, arm features, factors) are stored as ``[name, value]`` pairs,
never as document keys, so names containing ``.`` or starting with ``$`` are stored faithfully.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar, get_args

import orjson
from pymongo import ASCENDING, ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import (
    BulkWriteError,
    ConnectionFailure,
    DuplicateKeyError,
    ExecutionTimeout,
    OperationFailure,
    WriteConcernError,
)

from policy.arms import Arm
from policy.experiment import Experiment, PromotionSettings, RewardSettings, TrainingSettings
from policy.records import (
    Clock,
    Decision,
    PolicyRecord,
    Reward,
    Unreadable,
    check_decision,
    check_reward,
    utcnow,
)
from trainer.storage import Key, Lease

log = logging.getLogger(__name__)

DUPLICATE_KEY = 11000
EventKind = Literal["reward", "activation"]
"""What happens to a decision after it: the events that wait in ``pending`` for it."""
EVENT_KINDS: tuple[EventKind, ...] = get_args(EventKind)
ACTIVATION_KEY = "activation"
"""The key of a decision's activation among the events waiting for it (a reward's is its _id)."""


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the store cannot take writes now (unreachable, electing a primary,
    timing out: retry later) rather than that it refuses what was sent (retrying never helps)."""
    if isinstance(error, BulkWriteError):
        return bool(error.details.get("writeConcernErrors")) and not error.details.get("writeErrors")
    if isinstance(error, (ConnectionFailure, WriteConcernError, ExecutionTimeout, OSError)):
        return True
    return isinstance(error, OperationFailure) and error.has_error_label("RetryableWriteError")


class StaleRevision(Exception):
    """The experiment changed since the revision the caller read (or no longer exists)."""


class Store:
    """Experiments, decisions, rewards, activations, policies and leases in one MongoDB database.

    **Events of a decision** (rewards, activations) are kept with their decision's experiment
    and time, so that a training cycle reads only the events of its experiment's decisions, by
    decision time, however many other experiments or unknown event ids there are. An event
    whose decision is not stored yet (a decision still in another worker's queue or spool, or
    none ever: an orphan) waits in ``pending``, one document per event id; it is adopted when
    its decision is written, and deleted ``pending_seconds`` after it arrived if none was
    (:meth:`sweep_pending`).

    It provides what the trainer needs (:class:`trainer.storage.TrainerStore`). ``clock`` is
    the one source of the time for everything the service stamps: decisions, rewards,
    activations, audit entries, training cycles (tests pass a controllable one).
    """

    def __init__(self, db: Database[Any], clock: Clock = utcnow, pending_seconds: float = 86_400.0) -> None:
        self.db = db
        self.clock = clock
        self.pending_seconds = pending_seconds
        self.experiments = db["experiments"]
        self.decisions = db["decisions"]
        self.rewards = db["rewards"]
        self.activations = db["activations"]
        self.pending = db["pending"]
        self.visits = db["visits"]
        self.policies = db["policies"]
        self.leases = db["leases"]
        self.reports = db["reports"]
        self.audit = db["audit"]

    def ensure_indexes(self, retention_days: int | None = None) -> None:
        """Create the indexes the service relies on (idempotent), and make decisions, rewards
        and activations expire ``retention_days`` after their time (a TTL index on ``ts``), or
        never when it is None (a TTL index left from an earlier setting is dropped)."""
        self.decisions.create_index([("experiment", ASCENDING), ("ts", ASCENDING), ("_id", ASCENDING)])
        self.rewards.create_index([("experiment", ASCENDING), ("decision_ts", ASCENDING), ("_id", ASCENDING)])
        self.activations.create_index([("experiment", ASCENDING), ("decision_ts", ASCENDING), ("_id", ASCENDING)])
        self.pending.create_index([("expires_at", ASCENDING)])
        self.visits.create_index([("until", ASCENDING)], expireAfterSeconds=0)
        self.policies.create_index([("experiment", ASCENDING), ("version", ASCENDING)], unique=True)
        self.reports.create_index([("experiment", ASCENDING), ("created_at", ASCENDING)])
        self.audit.create_index([("experiment", ASCENDING), ("ts", ASCENDING)])
        for collection in (self.decisions, self.rewards, self.activations):
            _set_retention(collection, None if retention_days is None else retention_days * 86_400)

    def ping(self) -> None:
        """Raise if the database cannot be reached."""
        self.db.command("ping")

    # experiments -----------------------------------------------------------------------------

    def put_experiment(self, experiment: Experiment, expected_revision: int | None = None) -> tuple[Experiment, bool]:
        """Create or replace an experiment's definition (its operator state, ``paused`` and
        ``active_policy``, is kept); return it as stored, with its new revision, and whether it
        was created.

        ``expected_revision`` 0 creates only: it fails if the experiment exists.

        Raises
        ------
        StaleRevision
            If ``expected_revision`` is given and the stored experiment is not at it.
        """
        now = self.clock()
        query: dict[str, Any] = {"_id": experiment.id}
        if expected_revision is not None:
            query["revision"] = expected_revision
        try:
            doc = self.experiments.find_one_and_update(
                query,
                {
                    "$set": {**_experiment_fields(experiment), "updated_at": now},
                    "$inc": {"revision": 1},
                    "$setOnInsert": {"created_at": now, "paused": False},
                },
                upsert=expected_revision in (None, 0),  # an upsert of revision 0 inserts revision 1
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError as exc:  # a concurrent creation won
            raise StaleRevision(experiment.id) from exc
        if doc is None:
            raise StaleRevision(experiment.id)
        return _experiment(doc), doc["revision"] == 1

    def update_experiment(
        self, experiment_id: str, fields: Mapping[str, Any], expected_revision: int | None = None
    ) -> Experiment | None:
        """Set some fields of an experiment atomically and bump its revision; None if it does
        not exist.

        Raises
        ------
        StaleRevision
            If ``expected_revision`` is given and the stored experiment is not at it.
        """
        query: dict[str, Any] = {"_id": experiment_id}
        if expected_revision is not None:
            query["revision"] = expected_revision
        doc = self.experiments.find_one_and_update(
            query,
            {"$set": {**fields, "updated_at": self.clock()}, "$inc": {"revision": 1}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            if expected_revision is not None and self.experiments.count_documents({"_id": experiment_id}):
                raise StaleRevision(experiment_id)
            return None
        return _experiment(doc)

    def insert_experiment_if_absent(self, experiment: Experiment) -> bool:
        """Store ``experiment`` unless one with its id exists; return whether it was stored."""
        now = self.clock()
        try:
            self.experiments.insert_one(
                {
                    "_id": experiment.id,
                    **_experiment_fields(experiment),
                    "revision": 1,
                    "paused": False,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        except DuplicateKeyError:
            return False
        return True

    def get_experiment(self, experiment_id: str) -> Experiment | None:
        doc = self.experiments.find_one({"_id": experiment_id})
        return _experiment(doc) if doc else None

    def list_experiments(self) -> list[Experiment]:
        return [_experiment(doc) for doc in self.experiments.find().sort("_id", ASCENDING)]

    def experiment_states(self) -> dict[str, ExperimentState]:
        """Each experiment's revision, serving policy and candidate: a cheap poll for changes."""
        cursor = self.experiments.find({}, {"revision": 1, "active_policy": 1, "candidate_policy": 1})
        return {
            d["_id"]: ExperimentState(d["revision"], d.get("active_policy"), d.get("candidate_policy")) for d in cursor
        }

    # decisions -------------------------------------------------------------------------------

    def insert_decisions(self, decisions: Sequence[Decision]) -> int:
        """Insert decisions, skipping any already stored (retries are safe); return how many
        were new."""
        if not decisions:
            return 0
        new = _insert_many_new(self.decisions, [_decision_doc(d) for d in decisions])[0]
        self._adopt({d.event_id: (d.experiment, d.ts) for d in decisions})
        return new

    def insert_decision_once(self, decision: Decision) -> Decision:
        """Insert ``decision`` unless its event id is taken; return the stored decision."""
        try:
            self.decisions.insert_one(_decision_doc(decision))
            self._adopt({decision.event_id: (decision.experiment, decision.ts)})
            return decision
        except DuplicateKeyError:
            stored = self.get_decision(decision.event_id)
            if stored is None:  # expired (retention) between the two calls: it is free again
                return self.insert_decision_once(decision)
            return stored

    def visit(self, experiment_id: str, visitor: str) -> Visit | None:
        """The decision last kept for ``visitor`` in the experiment, and until when (it may have
        expired; MongoDB removes expired ones within a minute or so)."""
        doc = self.visits.find_one({"_id": _visit_id(experiment_id, visitor)})
        return None if doc is None else Visit(_decision(doc["decision"]), doc["until"])

    def keep_visit(self, visitor: str, decision: Decision, until: datetime, replacing: Visit | None) -> Decision:
        """Keep ``decision`` as ``visitor``'s until ``until``, unless another live decision is
        kept for it (another worker's, decided at the same time): return the decision that is
        kept, which is the visitor's answer. ``replacing`` is the visit this one replaces (an
        expired one, or one whose arm is no longer eligible), as :meth:`visit` read it; it is
        replaced only if it is still the one stored (compare and swap), so parallel requests of
        one visitor agree on one decision on any number of workers."""
        key = _visit_id(decision.experiment, visitor)
        doc = {"_id": key, "until": until, "decision": _decision_doc(decision)}
        if replacing is None:
            try:
                self.visits.insert_one(doc)
                return decision
            except DuplicateKeyError:
                pass
        elif self.visits.replace_one({"_id": key, "decision._id": replacing.decision.event_id}, doc).matched_count:
            return decision
        current = self.visit(decision.experiment, visitor)
        if current is None:
            return self.keep_visit(visitor, decision, until, None)
        if current.until > decision.ts:
            return current.decision
        return self.keep_visit(visitor, decision, until, current)

    def get_decision(self, event_id: str) -> Decision | None:
        doc = self.decisions.find_one({"_id": event_id})
        return _decision(doc) if doc else None

    def activate(self, event_id: str, ts: datetime) -> bool:
        """Record that a deferred decision was shown; return False if it already was."""
        doc = {"_id": event_id, "ts": ts}
        known = self._decision_keys([event_id])
        if event_id not in known:
            return self._wait("activation", event_id, ACTIVATION_KEY, doc, ts)
        experiment, decision_ts = known[event_id]
        try:
            self.activations.insert_one({**doc, "experiment": experiment, "decision_ts": decision_ts})
        except DuplicateKeyError:
            return False
        return True

    def decisions_between(
        self, experiment_id: str, start: datetime | None, end: datetime
    ) -> Iterator[Decision | Unreadable]:
        """The experiment's decisions made in ``[start, end)`` (from the first if ``start`` is
        None), sorted by ``(ts, event_id)``; a document that is no valid decision comes as
        :class:`Unreadable`."""
        query = {"experiment": experiment_id, "ts": _between(start, end)}
        return (_read_decision(d) for d in self.decisions.find(query).sort([("ts", ASCENDING), ("_id", ASCENDING)]))

    def activations_between(self, experiment_id: str, start: datetime | None, end: datetime) -> Iterator[Key]:
        """``(decision time, event id)`` of the activated decisions of the experiment made in
        ``[start, end)``, sorted."""
        query = {"experiment": experiment_id, "decision_ts": _between(start, end)}
        cursor = self.activations.find(query, {"decision_ts": 1}).sort([("decision_ts", ASCENDING), ("_id", ASCENDING)])
        return ((d["decision_ts"], d["_id"]) for d in cursor)

    # rewards ---------------------------------------------------------------------------------

    def insert_rewards(self, rewards: Sequence[Reward]) -> tuple[int, int]:
        """Insert reward events idempotently on ``(event_id, reward_id)``; return the counts of
        new and duplicate events. A reward whose decision is not stored yet waits in
        ``pending`` (see the class).

        The idempotency key is the document ``_id`` (``"<event_id> <reward_id>"``; neither id may
        contain a space). A unique secondary index would do the same on MongoDB, but the
        embedded store checks one by scanning the collection on every insert.
        """
        if not rewards:
            return 0, 0
        known = self._decision_keys([r.event_id for r in rewards])
        matched = [
            {**_reward_doc(r), "experiment": known[r.event_id][0], "decision_ts": known[r.event_id][1]}
            for r in rewards
            if r.event_id in known
        ]
        new, duplicates = _insert_many_new(self.rewards, matched) if matched else (0, 0)
        for r in rewards:
            if r.event_id not in known:
                waited = self._wait("reward", r.event_id, reward_key(r.event_id, r.reward_id), _reward_doc(r), r.ts)
                new, duplicates = new + waited, duplicates + (not waited)
        return new, duplicates

    def rewards_between(
        self, experiment_id: str, start: datetime | None, end: datetime
    ) -> Iterator[Reward | Unreadable]:
        """Reward events of the experiment's decisions made in ``[start, end)``, sorted by
        ``(decision_ts, event_id)``; a document that is no valid reward comes as
        :class:`Unreadable`."""
        query = {"experiment": experiment_id, "decision_ts": _between(start, end)}
        # _id is "<event_id> <reward_id>" and a space sorts first: this is (decision_ts, event_id) order
        cursor = self.rewards.find(query).sort([("decision_ts", ASCENDING), ("_id", ASCENDING)])
        return (_read_reward(d) for d in cursor)

    def reward_ids(self) -> set[str]:
        """The ``_id`` (:func:`reward_key`) of every stored reward event, matched to its decision
        or waiting for it: what the webhook accepted and the log wrote."""
        matched = {d["_id"] for d in self.rewards.find({}, {"_id": 1})}
        waiting = {e["_id"] for w in self.pending.find() for e in w["events"] if e["kind"] == "reward"}
        return matched | waiting

    # events waiting for their decision ---------------------------------------------------------

    def _decision_keys(self, event_ids: Iterable[str]) -> dict[str, tuple[str, datetime]]:
        """``(experiment, ts)`` of the stored decisions among ``event_ids``."""
        cursor = self.decisions.find({"_id": {"$in": list(set(event_ids))}}, {"experiment": 1, "ts": 1})
        return {d["_id"]: (d["experiment"], d["ts"]) for d in cursor}

    def _wait(self, kind: EventKind, event_id: str, key: str, doc: dict[str, Any], ts: datetime) -> bool:
        """Keep an event until its decision is stored; False if it already waits."""
        try:
            self.pending.update_one(
                {"_id": event_id, "events._id": {"$ne": key}},
                {
                    "$push": {"events": {"_id": key, "kind": kind, "doc": doc}},
                    "$setOnInsert": {"expires_at": ts + timedelta(seconds=self.pending_seconds)},
                },
                upsert=True,
            )
        except DuplicateKeyError:  # the event id waits already, with this very event
            return False
        return True

    def _adopt(self, decisions: Mapping[str, tuple[str, datetime]]) -> int:
        """Move the events waiting for these decisions (event id -> experiment, time) to their
        collections; return how many."""
        waiting = list(self.pending.find({"_id": {"$in": list(decisions)}}))
        if not waiting:
            return 0
        collections = {"reward": self.rewards, "activation": self.activations}
        for kind in EVENT_KINDS:
            collection = collections[kind]
            docs = [
                {**event["doc"], "experiment": decisions[w["_id"]][0], "decision_ts": decisions[w["_id"]][1]}
                for w in waiting
                for event in w["events"]
                if event["kind"] == kind
            ]
            if docs:
                _insert_many_new(collection, docs)  # an event that arrived twice is stored once
        self.pending.delete_many({"_id": {"$in": [w["_id"] for w in waiting]}})
        return sum(len(w["events"]) for w in waiting)

    def sweep_pending(self, now: datetime) -> dict[str, int]:
        """Adopt the waiting events whose decision is stored by now (a decision written just
        before its event was kept waiting), then delete those past their expiry: orphans,
        whose decision never came. Returns the counts: ``adopted``, ``expired_reward``,
        ``expired_activation``, ``waiting`` (still)."""
        ids = [d["_id"] for d in self.pending.find({}, {"_id": 1})]
        adopted = 0  # (rare: pending holds orphans and events a moment ahead of their decision)
        for i in range(0, len(ids), 1000):
            adopted += self._adopt(self._decision_keys(ids[i : i + 1000]))
        expired = list(self.pending.find({"expires_at": {"$lte": now}}))
        if expired:
            self.pending.delete_many({"_id": {"$in": [w["_id"] for w in expired]}})
        kinds = [event["kind"] for w in expired for event in w["events"]]
        waiting = sum(len(w["events"]) for w in self.pending.find({}, {"events._id": 1}))
        return {
            "adopted": adopted,
            **{f"expired_{kind}": kinds.count(kind) for kind in EVENT_KINDS},
            "waiting": waiting,
        }

    # policies ------------------------------------------------------------------------------

    def next_policy_version(self, experiment_id: str) -> int:
        last = self.policies.find_one({"experiment": experiment_id}, {"version": 1}, sort=[("version", -1)])
        return 1 if last is None else last["version"] + 1

    def insert_policy(self, record: PolicyRecord, model: bytes) -> None:
        """Add a trained policy and its model bytes to the registry."""
        self.policies.insert_one({**_policy_doc(record), "model": model})

    def list_policies(self, experiment_id: str) -> list[PolicyRecord]:
        """The experiment's policies, newest first (without their model bytes)."""
        cursor = self.policies.find({"experiment": experiment_id}, {"model": 0}).sort("version", -1)
        return [_policy(d) for d in cursor]

    def latest_policy(self, experiment_id: str) -> PolicyRecord | None:
        """The experiment's newest policy, whatever its status."""
        doc = self.policies.find_one({"experiment": experiment_id}, {"model": 0}, sort=[("version", -1)])
        return _policy(doc) if doc else None

    def get_policy(self, experiment_id: str, version: int) -> PolicyRecord | None:
        doc = self.policies.find_one({"experiment": experiment_id, "version": version}, {"model": 0})
        return _policy(doc) if doc else None

    def policy_model(self, experiment_id: str, version: int) -> bytes | None:
        doc = self.policies.find_one({"experiment": experiment_id, "version": version}, {"model": 1})
        return bytes(doc["model"]) if doc else None

    def activate_policy(self, experiment_id: str, version: int, reason: str) -> PolicyRecord | None:
        """Make ``version`` the experiment's active policy and retire the previous one.

        The experiment document's ``active_policy`` is the single source of truth that workers
        poll, switched in one atomic update; the registry statuses follow it. Returns the
        activated record, or None if there is no such policy.
        """
        if self.get_policy(experiment_id, version) is None:
            return None
        self._switch_active(experiment_id, version, f"replaced by v{version}")
        self.policies.update_one(
            {"experiment": experiment_id, "version": version},
            {"$set": {"status": "active", "reason": reason, "activated_at": self.clock()}},
        )
        return self.get_policy(experiment_id, version)

    def deactivate_policy(self, experiment_id: str, reason: str) -> None:
        """Stop serving the active policy: uniform random serves, and the policy is retired with
        ``reason``."""
        self._switch_active(experiment_id, None, reason)

    def _switch_active(self, experiment_id: str, version: int | None, retired_because: str) -> None:
        """Point the experiment at ``version`` (None: no policy) in one atomic update that also
        ends the candidate's share (the learners registered before this switch are candidates no
        more: :meth:`offer_candidate`), and retire the version it served before (if another) with
        ``retired_because``."""
        before = self.experiments.find_one_and_update(
            {"_id": experiment_id},
            {"$set": {"active_policy": version, "candidate_policy": None}},
            {"active_policy": 1},
            return_document=ReturnDocument.BEFORE,
        )
        previous = before.get("active_policy") if before else None
        if previous is not None and previous != version:
            self.policies.update_one(
                {"experiment": experiment_id, "version": previous},
                {"$set": {"status": "retired", "reason": retired_because, "retired_at": self.clock()}},
            )

    def offer_candidate(self, experiment_id: str, version: int | None, serving: int | None) -> bool:
        """Make ``version`` the experiment's candidate (None: no candidate), the learner whose
        greedy choice gets ``exploration.candidate_share`` of the exploration budget, if
        ``serving`` is still the active policy; return whether it was set.

        The condition keeps the rule that only a learner registered after the serving policy was
        activated is a candidate: a switch of the active policy (a promotion, a rollback, a
        retirement) in the meantime clears the candidate (:meth:`_switch_active`) and this offer
        fails, so a version rolled back from is never one.
        """
        result = self.experiments.update_one(
            {"_id": experiment_id, "active_policy": serving}, {"$set": {"candidate_policy": version}}
        )
        return bool(result.matched_count)

    def reject_policy(self, experiment_id: str, version: int, reason: str) -> None:
        """Mark a candidate as rejected by the promotion gate, with the gate's reason."""
        self.policies.update_one(
            {"experiment": experiment_id, "version": version}, {"$set": {"status": "rejected", "reason": reason}}
        )

    # replay reports ------------------------------------------------------------------------

    def insert_report(self, report: Mapping[str, Any]) -> None:
        """Store a replay report (a JSON-compatible document with ``experiment`` and
        ``created_at``)."""
        self.reports.insert_one(dict(report))

    def list_reports(self, experiment_id: str, limit: int = 50) -> list[dict[str, Any]]:
        """The experiment's reports, newest first."""
        cursor = self.reports.find({"experiment": experiment_id}, {"_id": 0}).sort("created_at", -1).limit(limit)
        return list(cursor)

    # audit -----------------------------------------------------------------------------------

    def insert_audit(self, entry: Mapping[str, Any]) -> None:
        """Record an operator change: ``ts``, ``experiment``, ``key_id``, ``action``,
        ``before`` and ``after``. The two states are kept as JSON text, since user-chosen names
        inside them are not safe as document keys."""
        self.audit.insert_one(
            {**entry, "before": orjson.dumps(entry["before"]).decode(), "after": orjson.dumps(entry["after"]).decode()}
        )

    def list_audit(self, experiment_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Operator changes, newest first, of one experiment or all."""
        query = {} if experiment_id is None else {"experiment": experiment_id}
        return [
            {**d, "before": orjson.loads(d["before"]), "after": orjson.loads(d["after"])}
            for d in self.audit.find(query, {"_id": 0}).sort("ts", -1).limit(limit)
        ]

    # leases ----------------------------------------------------------------------------------

    def lease(self, name: str) -> dict[str, Any] | None:
        """Lease ``name`` as stored (holder, expiry, last run, failures), without taking it."""
        doc = self.leases.find_one({"_id": name})
        return None if doc is None else dict(doc)

    def acquire_lease(self, name: str, owner: str, now: datetime, seconds: float) -> Lease | None:
        """Take lease ``name`` until ``now + seconds`` unless another owner holds an unexpired
        one. Taking a free lease is one atomic upsert: of two contenders one inserts or matches
        the expired document, the other gets a duplicate key and None."""
        try:
            doc = self.leases.find_one_and_update(
                {"_id": name, "$or": [{"expires_at": {"$lte": now}}, {"owner": owner}]},
                {"$set": {"owner": owner, "expires_at": now + timedelta(seconds=seconds)}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            return None
        if doc is None:  # cannot happen with upsert=True and ReturnDocument.AFTER
            return None
        return Lease(
            name,
            owner,
            doc["expires_at"],
            doc.get("last_finished"),
            doc.get("failures", 0),
            doc.get("last_failed"),
            doc.get("last_error"),
        )

    def release_lease(self, name: str, owner: str, finished_at: datetime | None, error: str | None = None) -> None:
        """Give the lease up; record ``finished_at`` as its last run's end if given (clearing
        the failures), or, with an ``error``, as the time that run failed (counted)."""
        update: dict[str, Any] = {"$set": {"expires_at": datetime.min.replace(tzinfo=UTC)}}
        if error is not None:
            update["$set"].update(last_failed=finished_at, last_error=error)
            update["$inc"] = {"failures": 1}
        elif finished_at is not None:
            update["$set"].update(last_finished=finished_at, failures=0, last_failed=None, last_error=None)
        self.leases.update_one({"_id": name, "owner": owner}, update)


def _insert_many_new(collection: Any, docs: list[dict[str, Any]]) -> tuple[int, int]:
    """``insert_many`` without order; duplicate keys are counted, any other error raised."""
    try:
        result = collection.insert_many(docs, ordered=False)
        return len(result.inserted_ids), 0
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(e.get("code") != DUPLICATE_KEY for e in errors):
            raise
        return exc.details.get("nInserted", len(docs) - len(errors)), len(errors)


def _between(start: datetime | None, end: datetime) -> dict[str, datetime]:
    return {"$lt": end} if start is None else {"$gte": start, "$lt": end}


def _pairs(mapping: Mapping[str, Any]) -> list[list[Any]]:
    return [[k, v] for k, v in mapping.items()]


def _mapping(pairs: Iterable[Any]) -> dict[str, Any]:
    return dict(pairs)


def _experiment_fields(e: Experiment) -> dict[str, Any]:
    return {
        "arms": [{"id": a.id, "features": _pairs(a.features), "enabled": a.enabled} for a in e.arms],
        "holdout": e.holdout,
        "sticky_seconds": e.sticky_seconds,
        "factors": None if e.factors is None else _pairs({k: list(v) for k, v in e.factors.items()}),
        "exclude": [_pairs(x) for x in e.exclude],
        "default_arm": e.default_arm,
        "exploration": {"epsilon": e.epsilon, "candidate_share": e.candidate_share},
        "reward": asdict(e.reward),
        "training": e.training.to_dict(),
        "promotion": asdict(e.promotion),
    }


def _experiment(doc: Mapping[str, Any]) -> Experiment:
    return Experiment(
        id=doc["_id"],
        arms=tuple(Arm(a["id"], _mapping(a["features"]), a["enabled"]) for a in doc["arms"]),
        default_arm=doc["default_arm"],
        epsilon=doc["exploration"]["epsilon"],
        candidate_share=doc["exploration"].get("candidate_share", 0.0),
        reward=RewardSettings(**doc["reward"]),
        factors=None if doc["factors"] is None else _mapping(doc["factors"]),
        exclude=tuple(_mapping(x) for x in doc["exclude"]),
        training=TrainingSettings.from_dict(doc["training"]),
        promotion=PromotionSettings(**doc["promotion"]),
        revision=doc["revision"],
        active_policy=doc.get("active_policy"),
        candidate_policy=doc.get("candidate_policy"),
        paused=doc["paused"],
        holdout=doc["holdout"],
        sticky_seconds=doc.get("sticky_seconds", 0.0),
    )


R = TypeVar("R")


def _document(record: Any, key: str | None = None, **encoded: Any) -> dict[str, Any]:
    """A record's fields as a document: the field ``key`` becomes ``_id``, and ``encoded``
    replaces the fields that a document cannot hold as they are (mappings with user-chosen
    names become pairs)."""
    doc = {name: getattr(record, name) for name in _field_names(type(record))}
    if key is not None:
        doc["_id"] = doc.pop(key)
    doc.update(encoded)
    return doc


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    """A record class's field names, read once (``dataclasses.fields`` builds them on every
    call, and every logged decision and reward is encoded with them)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


def _record(cls: type[R], doc: Mapping[str, Any], key: str | None = None, **decoded: Any) -> R:
    """The record of a document, inverse of :func:`_document`; fields an older document lacks
    take their defaults and the document's other fields are ignored."""
    names = set(_field_names(cls))
    values = {name: value for name, value in doc.items() if name in names}
    if key is not None:
        values[key] = doc["_id"]
    values.update(decoded)
    return cls(**values)


def _read(
    decode: Callable[[Mapping[str, Any]], R], check: Callable[[R], None]
) -> Callable[[Mapping[str, Any]], R | Unreadable]:
    """A reader of documents into checked records, or into why one is none."""

    def read(doc: Mapping[str, Any]) -> R | Unreadable:
        try:
            record = decode(doc)
            check(record)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            return Unreadable(str(doc.get("_id")), f"{type(exc).__name__}: {exc}")
        return record

    return read


@dataclass(frozen=True)
class ExperimentState:
    """What a worker polls for (:meth:`Store.experiment_states`): the experiment's revision, its
    serving policy and its candidate (None: none)."""

    revision: int
    active_policy: int | None
    candidate_policy: int | None


@dataclass(frozen=True)
class Visit:
    """A visitor's kept decision and when it stops being theirs."""

    decision: Decision
    until: datetime


def _visit_id(experiment_id: str, visitor: str) -> str:
    """A visit's ``_id``: experiment ids hold no ``/``, so the first one ends it. (A string: the
    embedded store's TTL removal fails on a sub-document ``_id``; MongoDB's does not.)"""
    return f"{experiment_id}/{visitor}"


def _decision_doc(d: Decision) -> dict[str, Any]:
    return _document(d, "event_id", context=_pairs(d.context), actions=list(d.actions), pmf=list(d.pmf))


def _decision(doc: Mapping[str, Any]) -> Decision:
    return _record(
        Decision,
        doc,
        "event_id",
        context=_mapping(doc["context"]),
        actions=tuple(doc["actions"]),
        pmf=tuple(doc["pmf"]),
    )


def reward_key(event_id: str, reward_id: str) -> str:
    """A reward event's ``_id`` (see :meth:`Store.insert_rewards`)."""
    return f"{event_id} {reward_id}"


def _reward_doc(r: Reward) -> dict[str, Any]:
    return _document(r, _id=reward_key(r.event_id, r.reward_id))


def _reward(doc: Mapping[str, Any]) -> Reward:
    return _record(Reward, doc)


def _policy_doc(p: PolicyRecord) -> dict[str, Any]:
    return _document(
        p, learning=dict(p.learning), join=dict(p.join), metrics=None if p.metrics is None else dict(p.metrics)
    )


def _policy(doc: Mapping[str, Any]) -> PolicyRecord:
    return _record(PolicyRecord, doc)


_read_decision = _read(_decision, check_decision)


def _check_matched_reward(r: Reward) -> None:
    check_reward(r)
    if r.decision_ts is None:
        raise ValueError("the reward was never matched to its decision")


_read_reward = _read(_reward, _check_matched_reward)

TTL_INDEX = "retention_ts"


def _set_retention(collection: Collection[Any], seconds: int | None) -> None:
    """Make documents of ``collection`` expire ``seconds`` after their ``ts`` (None: never)."""
    existing = collection.index_information().get(TTL_INDEX)
    if existing is not None and existing.get("expireAfterSeconds") == seconds:
        return
    if existing is not None:
        collection.drop_index(TTL_INDEX)
    if seconds is not None:
        collection.create_index([("ts", ASCENDING)], name=TTL_INDEX, expireAfterSeconds=seconds)
