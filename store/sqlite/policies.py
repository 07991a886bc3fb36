"""The policy registry in SQLite: a row per policy, unique on (experiment, version), with its
model; what serves and what is offered are the experiment row's ``active_policy`` and
``candidate_policy``, switched in the same transaction as the statuses that follow them."""

from __future__ import annotations

import sqlite3
from typing import Any

from policy.records import Clock, PolicyRecord, record_of, record_values
from store.sqlite.database import Database, dumps, loads, ms, translated

COLUMNS = "status, reason, record"


@translated
class SqlitePolicyRegistry:
    """:class:`store.repositories.PolicyRegistry` on the ``policies`` and ``experiments`` tables."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def next_version(self, experiment_id: str) -> int:
        row = (
            self._db.connection()
            .execute("SELECT MAX(version) FROM policies WHERE experiment = ?", (experiment_id,))
            .fetchone()
        )
        return 1 if row[0] is None else int(row[0]) + 1

    def insert(self, record: PolicyRecord, model: bytes) -> None:
        values = record_values(record)
        status, reason = values.pop("status"), values.pop("reason")
        self._db.connection().execute(
            "INSERT INTO policies (experiment, version, status, reason, record, model) VALUES (?, ?, ?, ?, ?, ?)",
            (record.experiment, record.version, status, reason, dumps(values), model),
        )

    def list(self, experiment_id: str) -> list[PolicyRecord]:
        rows = self._db.connection().execute(
            f"SELECT {COLUMNS} FROM policies WHERE experiment = ? ORDER BY version DESC", (experiment_id,)
        )
        return [_policy(row) for row in rows]

    def latest(self, experiment_id: str) -> PolicyRecord | None:
        row = (
            self._db.connection()
            .execute(
                f"SELECT {COLUMNS} FROM policies WHERE experiment = ? ORDER BY version DESC LIMIT 1", (experiment_id,)
            )
            .fetchone()
        )
        return None if row is None else _policy(row)

    def get(self, experiment_id: str, version: int) -> PolicyRecord | None:
        return _get(self._db.connection(), experiment_id, version)

    def model(self, experiment_id: str, version: int) -> bytes | None:
        row = (
            self._db.connection()
            .execute("SELECT model FROM policies WHERE experiment = ? AND version = ?", (experiment_id, version))
            .fetchone()
        )
        return None if row is None else bytes(row[0])

    def activate(self, experiment_id: str, version: int, reason: str) -> PolicyRecord | None:
        with self._db.transaction() as c:
            if _get(c, experiment_id, version) is None:
                return None
            self._switch_active(c, experiment_id, version, f"replaced by v{version}")
            c.execute(
                "UPDATE policies SET status = 'active', reason = ?, activated_at = ? "
                "WHERE experiment = ? AND version = ?",
                (reason, ms(self._clock()), experiment_id, version),
            )
            return _get(c, experiment_id, version)

    def deactivate(self, experiment_id: str, reason: str) -> None:
        with self._db.transaction() as c:
            self._switch_active(c, experiment_id, None, reason)

    def _switch_active(self, c: sqlite3.Connection, experiment_id: str, version: int | None, retired: str) -> None:
        """Point the experiment at ``version`` (None: no policy), which ends the candidate's
        share, and retire the version it served before (if another) with ``retired``."""
        row = c.execute("SELECT active_policy FROM experiments WHERE id = ?", (experiment_id,)).fetchone()
        if row is None:
            return
        c.execute(
            "UPDATE experiments SET active_policy = ?, candidate_policy = NULL WHERE id = ?", (version, experiment_id)
        )
        if row[0] is not None and row[0] != version:
            c.execute(
                "UPDATE policies SET status = 'retired', reason = ?, retired_at = ? "
                "WHERE experiment = ? AND version = ?",
                (retired, ms(self._clock()), experiment_id, row[0]),
            )

    def offer_candidate(self, experiment_id: str, version: int | None, serving: int | None) -> bool:
        cursor = self._db.connection().execute(
            "UPDATE experiments SET candidate_policy = ? WHERE id = ? AND active_policy IS ?",
            (version, experiment_id, serving),
        )
        return cursor.rowcount == 1

    def reject(self, experiment_id: str, version: int, reason: str) -> None:
        self._db.connection().execute(
            "UPDATE policies SET status = 'rejected', reason = ? WHERE experiment = ? AND version = ?",
            (reason, experiment_id, version),
        )


def _get(c: sqlite3.Connection, experiment_id: str, version: int) -> PolicyRecord | None:
    row = c.execute(
        f"SELECT {COLUMNS} FROM policies WHERE experiment = ? AND version = ?", (experiment_id, version)
    ).fetchone()
    return None if row is None else _policy(row)


def _policy(row: Any) -> PolicyRecord:
    status, reason, record = row
    return record_of(PolicyRecord, {**loads(record), "status": status, "reason": reason})
