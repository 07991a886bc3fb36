"""What only the SQLite backend has: its file, its expiries (visits, retention) done by the
sweep, and its refusals naming the file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from store import sqlite
from store.errors import StoreError
from store.records import Sweep
from tests import factories
from tests.helpers import decisions_of


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[sqlite.SqliteBackend]:
    backend = sqlite.open_file(tmp_path / "data" / "mvt.sqlite3")
    backend.ensure_schema()
    yield backend
    backend.close()


def test_what_is_written_is_in_the_file_for_the_next_process(backend: sqlite.SqliteBackend) -> None:
    backend.store().events.insert_decisions([factories.decision(event_id="kept")])
    backend.close()
    again = sqlite.open_file(backend.path)
    try:
        assert again.store().events.get_decision("kept") == factories.decision(event_id="kept")
    finally:
        again.close()


def test_retention_is_an_indexed_delete_at_each_sweep(backend: sqlite.SqliteBackend) -> None:
    store = backend.store()
    t0 = factories.T0
    store.events.insert_decisions([factories.decision(event_id=f"e{d}", ts=t0 + timedelta(days=d)) for d in range(5)])
    store.events.insert_rewards([factories.reward(f"e{d}", ts=t0 + timedelta(days=d)) for d in range(5)])
    store.events.sweep(t0 + timedelta(days=10))
    assert len(decisions_of(store)) == 5  # no retention: kept forever
    backend.ensure_schema(retention_days=7)
    store.events.sweep(t0 + timedelta(days=10))
    assert [d.event_id for d in decisions_of(store)] == ["e3", "e4"]
    assert {e for e, _ in store.events.reward_ids()} == {"e3", "e4"}
    plan = backend._db.connection().execute("EXPLAIN QUERY PLAN DELETE FROM decisions WHERE ts < 0").fetchall()
    assert "decisions_retention" in str(plan)


def test_expired_visits_are_removed_by_the_sweep(backend: sqlite.SqliteBackend) -> None:
    store = backend.store()
    t0 = factories.T0
    decision = factories.decision(event_id="v", ts=t0)
    store.events.keep_visit("visitor", decision, t0 + timedelta(minutes=30), None)
    assert store.events.sweep(t0 + timedelta(minutes=29)) == Sweep(0, {"reward": 0, "activation": 0}, 0)
    assert store.events.visit("exp", "visitor") is not None
    store.events.sweep(t0 + timedelta(minutes=30))
    assert store.events.visit("exp", "visitor") is None


def test_a_file_that_is_no_database_is_refused_naming_the_reason_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "mvt.sqlite3"
    path.write_bytes(b"not a database" * 1000)
    backend = sqlite.open_file(path)
    with pytest.raises(StoreError, match="file is not a database"):
        backend.ensure_schema()
    backend.close()
    assert path.read_bytes() == b"not a database" * 1000


def test_a_folder_that_cannot_be_made_is_refused_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(StoreError, match="cannot create its folder"):
        sqlite.open_file(tmp_path / "file" / "mvt.sqlite3")
