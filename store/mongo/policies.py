"""The policy registry in MongoDB: one document per policy, unique on (experiment, version),
with its model bytes; what serves and what is offered are the experiment document's
``active_policy`` and ``candidate_policy``, the single source of truth that workers poll."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.database import Database

from policy.records import Clock, PolicyRecord
from store.mongo import documents
from store.mongo.errors import translated

WITHOUT_MODEL = {"model": 0}


@translated
class MongoPolicyRegistry:
    """:class:`store.repositories.PolicyRegistry` on the ``policies`` and ``experiments``
    collections."""

    def __init__(self, db: Database[Any], clock: Clock) -> None:
        self._policies = db["policies"]
        self._experiments = db["experiments"]
        self._clock = clock

    def next_version(self, experiment_id: str) -> int:
        last = self._policies.find_one({"experiment": experiment_id}, {"version": 1}, sort=[("version", -1)])
        return 1 if last is None else last["version"] + 1

    def insert(self, record: PolicyRecord, model: bytes) -> None:
        self._policies.insert_one({**documents.policy_doc(record), "model": model})

    def list(self, experiment_id: str) -> list[PolicyRecord]:
        cursor = self._policies.find({"experiment": experiment_id}, WITHOUT_MODEL).sort("version", -1)
        return [documents.policy(d) for d in cursor]

    def latest(self, experiment_id: str) -> PolicyRecord | None:
        doc = self._policies.find_one({"experiment": experiment_id}, WITHOUT_MODEL, sort=[("version", -1)])
        return documents.policy(doc) if doc else None

    def get(self, experiment_id: str, version: int) -> PolicyRecord | None:
        doc = self._policies.find_one({"experiment": experiment_id, "version": version}, WITHOUT_MODEL)
        return documents.policy(doc) if doc else None

    def model(self, experiment_id: str, version: int) -> bytes | None:
        doc = self._policies.find_one({"experiment": experiment_id, "version": version}, {"model": 1})
        return bytes(doc["model"]) if doc else None

    def activate(self, experiment_id: str, version: int, reason: str) -> PolicyRecord | None:
        """(The experiment's ``active_policy`` is switched first, in one atomic update; the
        registry's statuses follow it.)"""
        if self.get(experiment_id, version) is None:
            return None
        self._switch_active(experiment_id, version, f"replaced by v{version}")
        self._policies.update_one(
            {"experiment": experiment_id, "version": version},
            {"$set": {"status": "active", "reason": reason, "activated_at": self._clock()}},
        )
        return self.get(experiment_id, version)

    def deactivate(self, experiment_id: str, reason: str) -> None:
        self._switch_active(experiment_id, None, reason)

    def _switch_active(self, experiment_id: str, version: int | None, retired_because: str) -> None:
        """Point the experiment at ``version`` (None: no policy) in one atomic update that also
        ends the candidate's share, and retire the version it served before (if another) with
        ``retired_because``."""
        before = self._experiments.find_one_and_update(
            {"_id": experiment_id},
            {"$set": {"active_policy": version, "candidate_policy": None}},
            {"active_policy": 1},
            return_document=ReturnDocument.BEFORE,
        )
        previous = before.get("active_policy") if before else None
        if previous is not None and previous != version:
            self._policies.update_one(
                {"experiment": experiment_id, "version": previous},
                {"$set": {"status": "retired", "reason": retired_because, "retired_at": self._clock()}},
            )

    def offer_candidate(self, experiment_id: str, version: int | None, serving: int | None) -> bool:
        result = self._experiments.update_one(
            {"_id": experiment_id, "active_policy": serving}, {"$set": {"candidate_policy": version}}
        )
        return bool(result.matched_count)

    def reject(self, experiment_id: str, version: int, reason: str) -> None:
        self._policies.update_one(
            {"experiment": experiment_id, "version": version}, {"$set": {"status": "rejected", "reason": reason}}
        )


def ensure_indexes(db: Database[Any]) -> None:
    db["policies"].create_index([("experiment", ASCENDING), ("version", ASCENDING)], unique=True)
