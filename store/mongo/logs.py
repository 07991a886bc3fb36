"""Reports, the audit log and leases in MongoDB: a collection each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from store import codec
from store.mongo import documents
from store.mongo.errors import translated
from store.records import AuditEntry, Lease, Report


@translated
class MongoReports:
    """:class:`store.repositories.Reports` on the ``reports`` collection."""

    def __init__(self, db: Database[Any]) -> None:
        self._reports = db["reports"]

    def insert(self, report: Report) -> None:
        self._reports.insert_one(codec.report_doc(report))

    def list(self, experiment_id: str, limit: int = 50) -> list[Report]:
        cursor = self._reports.find({"experiment": experiment_id}).sort("created_at", -1).limit(limit)
        return [codec.report(d) for d in cursor]


@translated
class MongoAuditLog:
    """:class:`store.repositories.AuditLog` on the ``audit`` collection."""

    def __init__(self, db: Database[Any]) -> None:
        self._audit = db["audit"]

    def insert(self, entry: AuditEntry) -> None:
        self._audit.insert_one(documents.audit_doc(entry))

    def list(self, experiment_id: str | None = None, limit: int = 100) -> list[AuditEntry]:
        query = {} if experiment_id is None else {"experiment": experiment_id}
        return [documents.audit_entry(d) for d in self._audit.find(query).sort("ts", -1).limit(limit)]


@translated
class MongoLeases:
    """:class:`store.repositories.Leases` on the ``leases`` collection, one document per lease."""

    def __init__(self, db: Database[Any]) -> None:
        self._leases = db["leases"]

    def get(self, name: str) -> Lease | None:
        doc = self._leases.find_one({"_id": name})
        return None if doc is None else documents.lease(doc)

    def acquire(self, name: str, owner: str, now: datetime, seconds: float) -> Lease | None:
        """(Taking a free lease is one atomic upsert: of two contenders one inserts or matches
        the expired document, the other gets a duplicate key and None.)"""
        try:
            doc = self._leases.find_one_and_update(
                {"_id": name, "$or": [{"expires_at": {"$lte": now}}, {"owner": owner}]},
                {"$set": {"owner": owner, "expires_at": now + timedelta(seconds=seconds)}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            return None
        return None if doc is None else documents.lease(doc)  # (never None with upsert=True and AFTER)

    def release(self, name: str, owner: str, finished_at: datetime | None, error: str | None = None) -> None:
        update: dict[str, Any] = {"$set": {"expires_at": datetime.min.replace(tzinfo=UTC)}}
        if error is not None:
            update["$set"].update(last_failed=finished_at, last_error=error)
            update["$inc"] = {"failures": 1}
        elif finished_at is not None:
            update["$set"].update(last_finished=finished_at, failures=0, last_failed=None, last_error=None)
        self._leases.update_one({"_id": name, "owner": owner}, update)


def ensure_indexes(db: Database[Any]) -> None:
    db["reports"].create_index([("experiment", ASCENDING), ("created_at", ASCENDING)])
    db["audit"].create_index([("experiment", ASCENDING), ("ts", ASCENDING)])
