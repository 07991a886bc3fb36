"""The SQLite backend: the store layer's repositories on one file, with the standard library's
``sqlite3`` (:mod:`store.sqlite.database` says how it uses SQLite). The single-machine store:
what it keeps survives a restart and a crash of the process."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from policy.records import Clock, utcnow
from store.errors import StoreError
from store.repositories import Store
from store.sqlite.database import Database, translated
from store.sqlite.events import SqliteEventLog
from store.sqlite.experiments import SqliteExperiments
from store.sqlite.logs import SqliteAuditLog, SqliteLeases, SqliteReports
from store.sqlite.policies import SqlitePolicyRegistry


@translated
class SqliteBackend:
    """:class:`store.repositories.Backend` on the file at ``path`` (created with its folder if
    absent); ``temporary`` is a folder of its own, removed with it at :meth:`close`."""

    def __init__(self, path: Path, temporary: Path | None = None) -> None:
        self.path = path
        self._db = Database(path)
        self._temporary = temporary

    def ensure_schema(self, retention_days: int | None = None) -> None:
        self._db.create_schema()
        with self._db.transaction() as c:
            if retention_days is None:
                c.execute("DELETE FROM settings WHERE name = 'retention_days'")
            else:
                c.execute("INSERT OR REPLACE INTO settings VALUES ('retention_days', ?)", (str(retention_days),))

    def ping(self) -> None:
        self._db.connection().execute("SELECT 1").fetchone()

    def store(self, clock: Clock = utcnow, pending_seconds: float = 86_400.0) -> Store:
        return Store(
            backend=self,
            experiments=SqliteExperiments(self._db, clock),
            events=SqliteEventLog(self._db, pending_seconds),
            policies=SqlitePolicyRegistry(self._db, clock),
            reports=SqliteReports(self._db),
            audit=SqliteAuditLog(self._db),
            leases=SqliteLeases(self._db),
            clock=clock,
        )

    def close(self) -> None:
        self._db.close()
        if self._temporary is not None:
            shutil.rmtree(self._temporary, ignore_errors=True)


def open_file(path: Path) -> SqliteBackend:
    """The store in the SQLite file at ``path``, its folder created if absent.

    Raises
    ------
    StoreError
        Naming the file, if it cannot be created or opened.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"{path}: cannot create its folder: {exc.strerror or exc}") from exc
    return SqliteBackend(path)


def temporary() -> SqliteBackend:
    """A store in a new temporary file, removed when it is closed (tests, the demo)."""
    folder = Path(tempfile.mkdtemp(prefix="mvt-"))
    return SqliteBackend(folder / "mvt.sqlite3", temporary=folder)
