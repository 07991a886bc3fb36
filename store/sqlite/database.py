"""One SQLite file: its connections, transactions, schema, times and JSON, and its errors as the
store layer's.

Each thread has a connection of its own (SQLite connections must not be shared by threads at
once); the file is in WAL mode, so readers never wait for the writer and a write waits at most
``BUSY_SECONDS`` for another. Times are integer milliseconds since the epoch, UTC: truncated as
MongoDB stores them, so that both backends return the same times and join keys match.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from store.errors import StoreError, StoreUnavailable, translated_by

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MILLISECOND = timedelta(milliseconds=1)
BUSY_SECONDS = 10.0
PAGE = 1000
"""Rows a range reader fetches at a time (a reader is consumed lazily, page by page)."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS experiments (
    id TEXT PRIMARY KEY, revision INTEGER NOT NULL, definition TEXT NOT NULL, paused INTEGER NOT NULL,
    active_policy INTEGER, candidate_policy INTEGER, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS decisions (
    event_id TEXT PRIMARY KEY, experiment TEXT NOT NULL, ts INTEGER NOT NULL, body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_by_time ON decisions (experiment, ts, event_id);
CREATE INDEX IF NOT EXISTS decisions_retention ON decisions (ts);
CREATE TABLE IF NOT EXISTS rewards (
    key TEXT PRIMARY KEY, event_id TEXT NOT NULL, reward_id TEXT NOT NULL, experiment TEXT NOT NULL,
    decision_ts INTEGER NOT NULL, ts INTEGER NOT NULL, reward REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS rewards_by_time ON rewards (experiment, decision_ts, key);
CREATE INDEX IF NOT EXISTS rewards_retention ON rewards (ts);
CREATE TABLE IF NOT EXISTS activations (
    event_id TEXT PRIMARY KEY, experiment TEXT NOT NULL, decision_ts INTEGER NOT NULL, ts INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS activations_by_time ON activations (experiment, decision_ts, event_id);
CREATE INDEX IF NOT EXISTS activations_retention ON activations (ts);
CREATE TABLE IF NOT EXISTS pending (
    event_id TEXT NOT NULL, key TEXT NOT NULL, kind TEXT NOT NULL, body BLOB NOT NULL, expires_at INTEGER NOT NULL,
    PRIMARY KEY (event_id, key)
);
CREATE INDEX IF NOT EXISTS pending_expiry ON pending (expires_at);
CREATE TABLE IF NOT EXISTS visits (
    experiment TEXT NOT NULL, visitor TEXT NOT NULL, until INTEGER NOT NULL, event_id TEXT NOT NULL,
    ts INTEGER NOT NULL, decision BLOB NOT NULL, PRIMARY KEY (experiment, visitor)
);
CREATE INDEX IF NOT EXISTS visits_expiry ON visits (until);
CREATE TABLE IF NOT EXISTS policies (
    experiment TEXT NOT NULL, version INTEGER NOT NULL, status TEXT NOT NULL, reason TEXT NOT NULL,
    record TEXT NOT NULL, model BLOB NOT NULL, activated_at INTEGER, retired_at INTEGER,
    PRIMARY KEY (experiment, version)
);
CREATE TABLE IF NOT EXISTS reports (
    id INTEGER PRIMARY KEY, experiment TEXT NOT NULL, created INTEGER NOT NULL, document TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reports_by_time ON reports (experiment, created);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, experiment TEXT NOT NULL, key_id TEXT NOT NULL,
    action TEXT NOT NULL, before TEXT NOT NULL, after TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit (experiment, ts);
CREATE INDEX IF NOT EXISTS audit_all_by_time ON audit (ts);
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at INTEGER NOT NULL, last_finished INTEGER,
    failures INTEGER NOT NULL DEFAULT 0, last_failed INTEGER, last_error TEXT
);
"""

UNAVAILABLE = ("locked", "busy", "disk i/o error", "database or disk is full", "unable to open")
"""What SQLite says when it cannot serve now (another writer holds the file too long, the disk is
full or failing): the store is unavailable, and a retry may succeed."""


def translate(error: Exception) -> StoreError:
    """The store layer's error for an ``sqlite3`` error (or a disk's ``OSError``)."""
    message = str(error).lower()
    outage = isinstance(error, OSError) or (
        isinstance(error, sqlite3.OperationalError) and any(m in message for m in UNAVAILABLE)
    )
    return (StoreUnavailable if outage else StoreError)(f"{type(error).__name__}: {error}")


translated = translated_by(translate, (sqlite3.Error, OSError))
"""Makes an SQLite repository raise the store layer's errors."""


ROWS_PER_STATEMENT = 500


def insert_rows(c: sqlite3.Connection, table: str, rows: Sequence[Sequence[Any]]) -> int:
    """Insert ``rows`` into ``table``, skipping those whose key is taken; return how many were
    new. A statement holds up to ``ROWS_PER_STATEMENT`` rows: ``sqlite3`` releases the
    interpreter lock while a statement runs and takes it back after it, so one statement per
    row would hand the lock over at every row (and wait for it, behind the request threads)."""
    if not rows:
        return 0
    before = c.total_changes
    row = f"({','.join('?' * len(rows[0]))})"
    for i in range(0, len(rows), ROWS_PER_STATEMENT):
        part = rows[i : i + ROWS_PER_STATEMENT]
        c.execute(f"INSERT OR IGNORE INTO {table} VALUES {','.join([row] * len(part))}", [v for r in part for v in r])
    return c.total_changes - before


def ms(t: datetime) -> int:
    """A time as integer milliseconds since the epoch (truncated, as MongoDB stores it)."""
    return (t - EPOCH) // MILLISECOND


def time_of(value: int) -> datetime:
    return EPOCH + value * MILLISECOND


def optional_ms(t: datetime | None) -> int | None:
    return None if t is None else ms(t)


def optional_time(value: int | None) -> datetime | None:
    return None if value is None else time_of(value)


def dumps(value: Any) -> str:
    """JSON of a system document (a policy's metrics, a report), its datetimes tagged as
    ``{"$date": milliseconds}`` and its infinities kept (MongoDB keeps both)."""
    return json.dumps(value, default=_tagged, separators=(",", ":"), ensure_ascii=False)


def loads(text: str | bytes) -> Any:
    """The inverse of :func:`dumps`."""
    return json.loads(text, object_hook=_untagged)


def _tagged(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$date": ms(value)}
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _untagged(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and "$date" in obj:
        return time_of(obj["$date"])
    return obj


class Database:
    """The file at ``path``: a connection per thread, transactions, the schema."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (opened at its first use)."""
        found: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if found is None:
            found = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False)
            found.execute("PRAGMA synchronous = NORMAL")  # in WAL mode: a crash of the process loses nothing
            self._local.connection = found
            with self._lock:
                self._connections.append(found)
        return found

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction on this thread's connection: committed on exit, rolled back on
        an error. It takes the write lock at once, so that what it reads stays as read."""
        connection = self.connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def create_schema(self) -> None:
        connection = self.connection()
        if connection.execute("PRAGMA journal_mode = WAL").fetchone()[0] != "wal":
            raise StoreError(f"{self.path}: SQLite refused write-ahead logging")
        connection.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()
