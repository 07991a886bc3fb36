"""Reports, the audit log and leases in SQLite: a table each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from store import codec
from store.records import AuditEntry, Lease, Report
from store.sqlite.database import Database, dumps, loads, ms, optional_ms, optional_time, time_of, translated


@translated
class SqliteReports:
    """:class:`store.repositories.Reports` on the ``reports`` table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def insert(self, report: Report) -> None:
        self._db.connection().execute(
            "INSERT INTO reports (experiment, created, document) VALUES (?, ?, ?)",
            (report.experiment, ms(report.created), dumps(codec.report_doc(report))),
        )

    def list(self, experiment_id: str, limit: int = 50) -> list[Report]:
        rows = self._db.connection().execute(
            "SELECT document FROM reports WHERE experiment = ? ORDER BY created DESC, id DESC LIMIT ?",
            (experiment_id, limit),
        )
        return [codec.report(loads(row[0])) for row in rows]


@translated
class SqliteAuditLog:
    """:class:`store.repositories.AuditLog` on the ``audit`` table; the states are JSON text."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def insert(self, entry: AuditEntry) -> None:
        self._db.connection().execute(
            "INSERT INTO audit (ts, experiment, key_id, action, before, after) VALUES (?, ?, ?, ?, ?, ?)",
            (
                ms(entry.ts),
                entry.experiment,
                entry.key_id,
                entry.action,
                orjson.dumps(entry.before).decode(),
                orjson.dumps(entry.after).decode(),
            ),
        )

    def list(self, experiment_id: str | None = None, limit: int = 100) -> list[AuditEntry]:
        columns = "SELECT ts, experiment, key_id, action, before, after FROM audit"
        if experiment_id is None:
            rows = self._db.connection().execute(f"{columns} ORDER BY ts DESC, id DESC LIMIT ?", (limit,))
        else:
            rows = self._db.connection().execute(
                f"{columns} WHERE experiment = ? ORDER BY ts DESC, id DESC LIMIT ?", (experiment_id, limit)
            )
        return [
            AuditEntry(time_of(ts), experiment, key_id, action, orjson.loads(before), orjson.loads(after))
            for ts, experiment, key_id, action, before, after in rows
        ]


LEASE = "SELECT name, owner, expires_at, last_finished, failures, last_failed, last_error FROM leases WHERE name = ?"


@translated
class SqliteLeases:
    """:class:`store.repositories.Leases` on the ``leases`` table, a row per lease."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, name: str) -> Lease | None:
        row = self._db.connection().execute(LEASE, (name,)).fetchone()
        return None if row is None else _lease(row)

    def acquire(self, name: str, owner: str, now: datetime, seconds: float) -> Lease | None:
        until = ms(now + timedelta(seconds=seconds))
        with self._db.transaction() as c:
            row = c.execute(LEASE, (name,)).fetchone()
            if row is None:
                c.execute("INSERT INTO leases (name, owner, expires_at) VALUES (?, ?, ?)", (name, owner, until))
            elif row[2] <= ms(now) or row[1] == owner:
                c.execute("UPDATE leases SET owner = ?, expires_at = ? WHERE name = ?", (owner, until, name))
            else:
                return None
            return _lease(c.execute(LEASE, (name,)).fetchone())

    def release(self, name: str, owner: str, finished_at: datetime | None, error: str | None = None) -> None:
        free = ms(datetime.min.replace(tzinfo=UTC))
        if error is not None:
            query = "UPDATE leases SET expires_at = ?, last_failed = ?, last_error = ?, failures = failures + 1"
            values: tuple[Any, ...] = (free, optional_ms(finished_at), error)
        elif finished_at is not None:
            query = (
                "UPDATE leases SET expires_at = ?, last_finished = ?, failures = 0, last_failed = NULL, "
                "last_error = NULL"
            )
            values = (free, ms(finished_at))
        else:
            query, values = "UPDATE leases SET expires_at = ?", (free,)
        self._db.connection().execute(f"{query} WHERE name = ? AND owner = ?", (*values, name, owner))


def _lease(row: Any) -> Lease:
    name, owner, expires_at, last_finished, failures, last_failed, last_error = row
    return Lease(
        name, owner, time_of(expires_at), optional_time(last_finished), failures, optional_time(last_failed), last_error
    )
