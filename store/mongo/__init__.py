"""The MongoDB backend: the store layer's repositories on a pymongo ``Database``, real or the
embedded mongomock one (:mod:`store.mongo.mongomock_client`), which runs the production code path.

The MongoDB features used are few: ``_id`` uniqueness as the idempotency key, one unique index
(experiment, version), unordered ``insert_many`` with partial success, compare-and-swap updates
and upserts, a swap that returns the previous value, range scans on compound indexes and two
TTL indexes; no transactions, sessions, change streams or aggregation pipelines. This package
is the only one that imports ``pymongo``, ``bson`` or ``mongomock``.
"""

from __future__ import annotations

from typing import Any

import pymongo
from pymongo.database import Database

from policy.records import Clock, utcnow
from store.mongo import events, logs, policies
from store.mongo.errors import translated
from store.mongo.events import MongoEventLog
from store.mongo.experiments import MongoExperiments
from store.mongo.logs import MongoAuditLog, MongoLeases, MongoReports
from store.mongo.mongomock_client import embedded_client
from store.mongo.policies import MongoPolicyRegistry
from store.repositories import Store


@translated
class MongoBackend:
    """:class:`store.repositories.Backend` on one database; ``client`` is closed with it (None:
    the caller's)."""

    def __init__(self, db: Database[Any], client: pymongo.MongoClient[Any] | None = None) -> None:
        self.db = db
        """The database itself, for the backend's own tests and tools."""
        self._client = client

    def ensure_schema(self, retention_days: int | None = None) -> None:
        events.ensure_indexes(self.db, retention_days)
        policies.ensure_indexes(self.db)
        logs.ensure_indexes(self.db)

    def ping(self) -> None:
        self.db.command("ping")

    def store(self, clock: Clock = utcnow, pending_seconds: float = 86_400.0) -> Store:
        db = self.db
        return Store(
            backend=self,
            experiments=MongoExperiments(db["experiments"], clock),
            events=MongoEventLog(db, pending_seconds),
            policies=MongoPolicyRegistry(db, clock),
            reports=MongoReports(db),
            audit=MongoAuditLog(db),
            leases=MongoLeases(db),
            clock=clock,
        )

    def drop(self) -> None:
        """Drop the whole database (tests on a real MongoDB clean up so)."""
        self.db.client.drop_database(self.db.name)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def connect(uri: str, database: str) -> MongoBackend:
    """A MongoDB server's ``database`` (nothing is sent until the first operation)."""
    client: pymongo.MongoClient[Any] = pymongo.MongoClient(
        uri, tz_aware=True, retryWrites=True, serverSelectionTimeoutMS=5000
    )
    return MongoBackend(client[database], client)


def embedded(database: str = "mvt") -> MongoBackend:
    """A new in-memory database in this process (nothing is kept across restarts)."""
    client = embedded_client()
    return MongoBackend(client[database], client)
