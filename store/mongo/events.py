"""The event log in MongoDB: decisions, rewards, activations, the events waiting for their
decision (``pending``) and visits, each in a collection of its own.

Rewards and activations are kept with their decision's experiment and time (``experiment``,
``decision_ts``), so that a training cycle reads them by range on a compound index. An event
whose decision is not stored yet waits in ``pending``, one document per event id holding its
events, until its decision is written (adopted) or ``pending_seconds`` after it arrived
(dropped by :meth:`MongoEventLog.sweep`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from policy.records import Decision, Reward, Unreadable
from store import visits
from store.mongo import documents
from store.mongo.errors import translated
from store.records import EVENT_KINDS, EventKind, Key, Sweep, Visit

DUPLICATE_KEY = 11000
ACTIVATION_KEY = "activation"
"""The key of a decision's activation among the events waiting for it (a reward's is its _id)."""


@translated
class MongoEventLog:
    """:class:`store.repositories.EventLog` on the collections the module names."""

    def __init__(self, db: Database[Any], pending_seconds: float) -> None:
        self._decisions = db["decisions"]
        self._rewards = db["rewards"]
        self._activations = db["activations"]
        self._pending = db["pending"]
        self._visits = db["visits"]
        self._pending_seconds = pending_seconds

    # decisions and visits ----------------------------------------------------------------------

    def insert_decisions(self, decisions: Sequence[Decision]) -> int:
        if not decisions:
            return 0
        new = _insert_many_new(self._decisions, [documents.decision_doc(d) for d in decisions])[0]
        self._adopt({d.event_id: (d.experiment, d.ts) for d in decisions})
        return new

    def insert_decision_once(self, decision: Decision) -> Decision:
        try:
            self._decisions.insert_one(documents.decision_doc(decision))
            self._adopt({decision.event_id: (decision.experiment, decision.ts)})
            return decision
        except DuplicateKeyError:
            stored = self.get_decision(decision.event_id)
            if stored is None:  # expired (retention) between the two calls: it is free again
                return self.insert_decision_once(decision)
            return stored

    def get_decision(self, event_id: str) -> Decision | None:
        doc = self._decisions.find_one({"_id": event_id})
        return documents.decision(doc) if doc else None

    def visit(self, experiment_id: str, visitor: str) -> Visit | None:
        doc = self._visits.find_one({"_id": documents.visit_id(experiment_id, visitor)})
        return None if doc is None else Visit(documents.decision(doc["decision"]), doc["until"])

    def keep_visit(self, visitor: str, decision: Decision, until: datetime, replacing: Visit | None) -> Decision:
        key = documents.visit_id(decision.experiment, visitor)
        doc = {"_id": key, "until": until, "decision": documents.decision_doc(decision)}

        def swap(replaced: Visit | None) -> bool:
            if replaced is None:
                try:
                    self._visits.insert_one(doc)
                except DuplicateKeyError:
                    return False
                return True
            stored = {"_id": key, "decision._id": replaced.decision.event_id}
            return bool(self._visits.replace_one(stored, doc).matched_count)

        return visits.keep(decision, replacing, swap, lambda: self.visit(decision.experiment, visitor))

    def decisions_between(
        self, experiment_id: str, start: datetime | None, end: datetime
    ) -> Iterator[Decision | Unreadable]:
        query = {"experiment": experiment_id, "ts": _between(start, end)}
        cursor = self._decisions.find(query).sort([("ts", ASCENDING), ("_id", ASCENDING)])
        return (documents.read_decision(d) for d in cursor)

    # events after a decision -----------------------------------------------------------------

    def activate(self, event_id: str, ts: datetime) -> bool:
        doc = {"_id": event_id, "ts": ts}
        known = self._decision_keys([event_id])
        if event_id not in known:
            return self._wait("activation", event_id, ACTIVATION_KEY, doc, ts)
        experiment, decision_ts = known[event_id]
        try:
            self._activations.insert_one({**doc, "experiment": experiment, "decision_ts": decision_ts})
        except DuplicateKeyError:
            return False
        return True

    def activations_between(self, experiment_id: str, start: datetime | None, end: datetime) -> Iterator[Key]:
        query = {"experiment": experiment_id, "decision_ts": _between(start, end)}
        cursor = self._activations.find(query, {"decision_ts": 1}).sort(
            [("decision_ts", ASCENDING), ("_id", ASCENDING)]
        )
        return ((d["decision_ts"], d["_id"]) for d in cursor)

    def insert_rewards(self, rewards: Sequence[Reward]) -> tuple[int, int]:
        """(The idempotency key is the document ``_id``, :func:`documents.reward_key`. A unique
        secondary index would do the same on MongoDB, but the embedded store checks one by
        scanning the collection on every insert.)"""
        if not rewards:
            return 0, 0
        known = self._decision_keys([r.event_id for r in rewards])
        matched = [
            {**documents.reward_doc(r), "experiment": known[r.event_id][0], "decision_ts": known[r.event_id][1]}
            for r in rewards
            if r.event_id in known
        ]
        new, duplicates = _insert_many_new(self._rewards, matched) if matched else (0, 0)
        for r in rewards:
            if r.event_id not in known:
                key = documents.reward_key(r.event_id, r.reward_id)
                waited = self._wait("reward", r.event_id, key, documents.reward_doc(r), r.ts)
                new, duplicates = new + waited, duplicates + (not waited)
        return new, duplicates

    def rewards_between(
        self, experiment_id: str, start: datetime | None, end: datetime
    ) -> Iterator[Reward | Unreadable]:
        query = {"experiment": experiment_id, "decision_ts": _between(start, end)}
        # _id is "<event_id> <reward_id>" and a space sorts first: this is (decision_ts, event_id) order
        cursor = self._rewards.find(query).sort([("decision_ts", ASCENDING), ("_id", ASCENDING)])
        return (documents.read_reward(d) for d in cursor)

    def rewards_of(self, event_id: str) -> list[Reward]:
        # _id is "<event_id> <reward_id>": the range of "<event_id> " prefixes, on the _id index
        ids = {"$gte": documents.reward_key(event_id, ""), "$lt": f"{event_id}!"}
        matched = [documents.reward(d) for d in self._rewards.find({"_id": ids})]
        waiting = self._pending.find_one({"_id": event_id})
        if waiting is not None:
            matched += [documents.reward(e["doc"]) for e in waiting["events"] if e["kind"] == "reward"]
        return sorted(matched, key=lambda r: r.reward_id)

    def reward_ids(self) -> set[tuple[str, str]]:
        matched = {(d["event_id"], d["reward_id"]) for d in self._rewards.find({}, {"event_id": 1, "reward_id": 1})}
        waiting = {
            (e["doc"]["event_id"], e["doc"]["reward_id"])
            for w in self._pending.find()
            for e in w["events"]
            if e["kind"] == "reward"
        }
        return matched | waiting

    # events waiting for their decision ---------------------------------------------------------

    def _decision_keys(self, event_ids: Iterable[str]) -> dict[str, tuple[str, datetime]]:
        """``(experiment, ts)`` of the stored decisions among ``event_ids``."""
        cursor = self._decisions.find({"_id": {"$in": list(set(event_ids))}}, {"experiment": 1, "ts": 1})
        return {d["_id"]: (d["experiment"], d["ts"]) for d in cursor}

    def _wait(self, kind: EventKind, event_id: str, key: str, doc: dict[str, Any], ts: datetime) -> bool:
        """Keep an event until its decision is stored; False if it already waits."""
        try:
            self._pending.update_one(
                {"_id": event_id, "events._id": {"$ne": key}},
                {
                    "$push": {"events": {"_id": key, "kind": kind, "doc": doc}},
                    "$setOnInsert": {"expires_at": ts + timedelta(seconds=self._pending_seconds)},
                },
                upsert=True,
            )
        except DuplicateKeyError:  # the event id waits already, with this very event
            return False
        return True

    def _adopt(self, decisions: Mapping[str, tuple[str, datetime]]) -> int:
        """Move the events waiting for these decisions (event id -> experiment, time) to their
        collections; return how many."""
        waiting = list(self._pending.find({"_id": {"$in": list(decisions)}}))
        if not waiting:
            return 0
        collections = {"reward": self._rewards, "activation": self._activations}
        for kind in EVENT_KINDS:
            docs = [
                {**event["doc"], "experiment": decisions[w["_id"]][0], "decision_ts": decisions[w["_id"]][1]}
                for w in waiting
                for event in w["events"]
                if event["kind"] == kind
            ]
            if docs:
                _insert_many_new(collections[kind], docs)  # an event that arrived twice is stored once
        self._pending.delete_many({"_id": {"$in": [w["_id"] for w in waiting]}})
        return sum(len(w["events"]) for w in waiting)

    def sweep(self, now: datetime) -> Sweep:
        ids = [d["_id"] for d in self._pending.find({}, {"_id": 1})]
        adopted = 0  # (rare: pending holds orphans and events a moment ahead of their decision)
        for i in range(0, len(ids), 1000):
            adopted += self._adopt(self._decision_keys(ids[i : i + 1000]))
        expired = list(self._pending.find({"expires_at": {"$lte": now}}))
        if expired:
            self._pending.delete_many({"_id": {"$in": [w["_id"] for w in expired]}})
        kinds = [event["kind"] for w in expired for event in w["events"]]
        waiting = sum(len(w["events"]) for w in self._pending.find({}, {"events._id": 1}))
        return Sweep(adopted, {kind: kinds.count(kind) for kind in EVENT_KINDS}, waiting)


def ensure_indexes(db: Database[Any], retention_days: int | None) -> None:
    """The indexes of the event log's range reads and expiries; decisions, rewards and
    activations expire ``retention_days`` after their time (a TTL index on ``ts``), or never when
    it is None (a TTL index left from an earlier setting is dropped)."""
    db["decisions"].create_index([("experiment", ASCENDING), ("ts", ASCENDING), ("_id", ASCENDING)])
    for name in ("rewards", "activations"):
        db[name].create_index([("experiment", ASCENDING), ("decision_ts", ASCENDING), ("_id", ASCENDING)])
    db["pending"].create_index([("expires_at", ASCENDING)])
    db["visits"].create_index([("until", ASCENDING)], expireAfterSeconds=0)
    for name in ("decisions", "rewards", "activations"):
        _set_retention(db[name], None if retention_days is None else retention_days * 86_400)


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


def _insert_many_new(collection: Collection[Any], docs: list[dict[str, Any]]) -> tuple[int, int]:
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
