"""The MongoDB data layer: the one place that reads and writes documents.

:class:`Store` takes a pymongo ``Database``, real or mongomock, and uses only operations both
support, so the embedded store runs the production code path. Raw documents never leave this
module: they are converted to frozen dataclasses here.

User-supplied mappings (contexts, arm features, factors) are stored as ``[name, value]`` pairs,
never as document keys, so names containing ``.`` or starting with ``$`` are stored faithfully.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from policy.arms import Arm
from policy.experiment import Experiment, RewardSettings
from trainer.records import Decision, Reward

log = logging.getLogger(__name__)

DUPLICATE_KEY = 11000


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Store:
    """Experiments, decisions, rewards, activations and policies in one MongoDB database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.experiments = db["experiments"]
        self.decisions = db["decisions"]
        self.rewards = db["rewards"]
        self.activations = db["activations"]
        self.policies = db["policies"]

    def ensure_indexes(self) -> None:
        """Create the indexes the service relies on (idempotent)."""
        self.decisions.create_index([("experiment", ASCENDING), ("ts", ASCENDING)])
        self.rewards.create_index([("event_id", ASCENDING)])
        self.policies.create_index([("experiment", ASCENDING), ("version", ASCENDING)], unique=True)

    def ping(self) -> None:
        """Raise if the database cannot be reached."""
        self.db.command("ping")

    # experiments -----------------------------------------------------------------------------

    def put_experiment(self, experiment: Experiment) -> tuple[Experiment, bool]:
        """Create or replace an experiment; return it as stored (with its new revision) and
        whether it was created."""
        now = utcnow()
        doc = self.experiments.find_one_and_update(
            {"_id": experiment.id},
            {
                "$set": {**_experiment_fields(experiment), "updated_at": now},
                "$inc": {"revision": 1},
                "$setOnInsert": {"created_at": now},
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return _experiment(doc), doc["revision"] == 1

    def insert_experiment_if_absent(self, experiment: Experiment) -> bool:
        """Store ``experiment`` unless one with its id exists; return whether it was stored."""
        now = utcnow()
        try:
            self.experiments.insert_one(
                {"_id": experiment.id, **_experiment_fields(experiment), "revision": 1,
                 "created_at": now, "updated_at": now}
            )
        except DuplicateKeyError:
            return False
        return True

    def get_experiment(self, experiment_id: str) -> Experiment | None:
        doc = self.experiments.find_one({"_id": experiment_id})
        return _experiment(doc) if doc else None

    def list_experiments(self) -> list[Experiment]:
        return [_experiment(doc) for doc in self.experiments.find().sort("_id", ASCENDING)]

    def experiment_revisions(self) -> dict[str, int]:
        """Each experiment's current revision: a cheap poll for changes."""
        return {d["_id"]: d["revision"] for d in self.experiments.find({}, {"revision": 1})}

    # decisions -------------------------------------------------------------------------------

    def insert_decisions(self, decisions: Sequence[Decision]) -> int:
        """Insert decisions, skipping any already stored (retries are safe); return how many
        were new."""
        if not decisions:
            return 0
        return _insert_many_new(self.decisions, [_decision_doc(d) for d in decisions])[0]

    def insert_decision_once(self, decision: Decision) -> Decision:
        """Insert ``decision`` unless its event id is taken; return the stored decision."""
        try:
            self.decisions.insert_one(_decision_doc(decision))
            return decision
        except DuplicateKeyError:
            return _decision(self.decisions.find_one({"_id": decision.event_id}))

    def get_decision(self, event_id: str) -> Decision | None:
        doc = self.decisions.find_one({"_id": event_id})
        return _decision(doc) if doc else None

    def activate(self, event_id: str, ts: datetime) -> bool:
        """Record that a deferred decision was shown; return False if it already was."""
        try:
            self.activations.insert_one({"_id": event_id, "ts": ts})
        except DuplicateKeyError:
            return False
        return True

    # rewards ---------------------------------------------------------------------------------

    def insert_rewards(self, rewards: Sequence[Reward]) -> tuple[int, int]:
        """Insert reward events idempotently on ``(event_id, reward_id)``; return the counts of
        new and duplicate events.

        The idempotency key is the document ``_id`` (``"<event_id> <reward_id>"``; neither id may
        contain a space, and a space sorts before every allowed character, so ``_id`` order is
        ``(event_id, reward_id)`` order). A unique secondary index would do the same on MongoDB,
        but the embedded store checks one by scanning the collection on every insert.
        """
        if not rewards:
            return 0, 0
        return _insert_many_new(self.rewards, [_reward_doc(r) for r in rewards])

    def rewards_for(self, event_id: str) -> list[Reward]:
        return [_reward(d) for d in self.rewards.find({"event_id": event_id}).sort("ts", ASCENDING)]

    # policies --------------------------------------------------------------------------------

    def insert_policy(self, experiment: str, version: int, model: bytes, vw_args: str, status: str) -> None:
        self.policies.insert_one(
            {"experiment": experiment, "version": version, "model": model, "vw_args": vw_args,
             "status": status, "created_at": utcnow()}
        )

    def active_policy_versions(self) -> dict[str, int]:
        """Experiment id -> version of its active policy, for experiments that have one."""
        cursor = self.policies.find({"status": "active"}, {"experiment": 1, "version": 1})
        return {d["experiment"]: d["version"] for d in cursor}

    def policy_model(self, experiment: str, version: int) -> bytes | None:
        doc = self.policies.find_one({"experiment": experiment, "version": version}, {"model": 1})
        return bytes(doc["model"]) if doc else None


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


def _pairs(mapping: Mapping[str, Any]) -> list[list[Any]]:
    return [[k, v] for k, v in mapping.items()]


def _mapping(pairs: Iterable[Sequence[Any]]) -> dict[str, Any]:
    return {k: v for k, v in pairs}


def _experiment_fields(e: Experiment) -> dict[str, Any]:
    return {
        "arms": [{"id": a.id, "features": _pairs(a.features)} for a in e.arms],
        "factors": None if e.factors is None else _pairs({k: list(v) for k, v in e.factors.items()}),
        "exclude": [_pairs(x) for x in e.exclude],
        "default_arm": e.default_arm,
        "exploration": {"epsilon": e.epsilon},
        "reward": {"window_seconds": e.reward.window_seconds, "default": e.reward.default,
                   "aggregate": e.reward.aggregate},
    }


def _experiment(doc: Mapping[str, Any]) -> Experiment:
    return Experiment(
        id=doc["_id"],
        arms=tuple(Arm(a["id"], _mapping(a["features"])) for a in doc["arms"]),
        default_arm=doc["default_arm"],
        epsilon=doc["exploration"]["epsilon"],
        reward=RewardSettings(**doc["reward"]),
        factors=None if doc["factors"] is None else _mapping(doc["factors"]),
        exclude=tuple(_mapping(x) for x in doc["exclude"]),
        revision=doc["revision"],
    )


def _decision_doc(d: Decision) -> dict[str, Any]:
    return {
        "_id": d.event_id, "experiment": d.experiment, "ts": d.ts, "context": _pairs(d.context),
        "actions": list(d.actions), "action": d.action, "probability": d.probability,
        "pmf": list(d.pmf), "policy_version": d.policy_version, "epsilon": d.epsilon,
        "explored": d.explored, "deferred": d.deferred,
    }


def _decision(doc: Mapping[str, Any]) -> Decision:
    return Decision(
        event_id=doc["_id"], experiment=doc["experiment"], ts=doc["ts"],
        context=_mapping(doc["context"]), actions=tuple(doc["actions"]), action=doc["action"],
        probability=doc["probability"], pmf=tuple(doc["pmf"]),
        policy_version=doc["policy_version"], epsilon=doc["epsilon"], explored=doc["explored"],
        deferred=doc["deferred"],
    )


def _reward_doc(r: Reward) -> dict[str, Any]:
    return {"_id": f"{r.event_id} {r.reward_id}", "event_id": r.event_id, "reward_id": r.reward_id,
            "reward": r.reward, "ts": r.ts}


def _reward(doc: Mapping[str, Any]) -> Reward:
    return Reward(event_id=doc["event_id"], reward_id=doc["reward_id"], reward=doc["reward"], ts=doc["ts"])
