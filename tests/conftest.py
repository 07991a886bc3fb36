"""Shared fixtures. Every test gets fresh ones: no state is shared between tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mvt_service.app import create_app
from mvt_service.cli.serving import serving
from mvt_service.settings import Settings
from store import mongo, sqlite
from store.repositories import Backend, Store
from tests.factories import T0
from tests.helpers import TickingClock

MONGO_URI = os.environ.get("MVT_TEST_MONGO_URI")
BACKENDS = [
    "sqlite",
    "mongomock",
    pytest.param(
        "mongodb",
        marks=pytest.mark.skipif(not MONGO_URI, reason="set MVT_TEST_MONGO_URI to run against a real MongoDB"),
    ),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """An empty database on each store backend: SQLite and the embedded MongoDB (mongomock) always,
    a real MongoDB when configured."""
    if request.param == "sqlite":
        file = sqlite.temporary()
        file.ensure_schema()
        yield file
        file.close()
        return
    if request.param == "mongomock":
        embedded = mongo.embedded("mvt_test")
        embedded.ensure_schema()
        yield embedded
        return
    assert MONGO_URI is not None
    name = f"mvt_test_{uuid.uuid4().hex[:12]}"
    database = mongo.connect(MONGO_URI, name)
    database.ensure_schema()
    try:
        yield database
    finally:
        database.drop()
        database.close()


@pytest.fixture
def store(backend: Backend) -> Store:
    store = backend.store()
    store.backend.ensure_schema()
    return store


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Test settings: seeded sampler, demo experiment, fast refresh, a spool of its own, and no
    in-process training schedule (tests train when they mean to; one test turns the schedule on)."""
    return Settings(
        _env_file=None,
        mongo_uri=None,
        data_path=None,
        seed=1234,
        reload_seconds=0.05,
        log_flush_seconds=0.01,
        train_in_process=False,
        spool_dir=tmp_path / "spool",
    )


@pytest.fixture
def clock() -> TickingClock:
    """The time of the apps a test runs: a few days after the factories' ``T0``, so that traffic
    they log "long ago" is within every lookback window, whatever the wall clock says."""
    return TickingClock(start=T0 + timedelta(days=4))


@pytest.fixture
def fast_path() -> bool:
    """Whether the ``client`` fixture's app answers valid decision requests by the fast path
    (both ways where a module is marked ``both_decision_paths``)."""
    return True


@pytest.fixture
def client(settings: Settings, clock: TickingClock, fast_path: bool) -> Iterator[TestClient]:
    """A client of a fresh app on its own embedded store."""
    with TestClient(create_app(settings, clock=clock, fast_path=fast_path)) as c:
        yield c


@pytest.fixture
def shared_backend() -> Iterator[Backend]:
    """One store, the single-machine default in a temporary file, for tests that run several
    apps (workers) against it."""
    backend = sqlite.temporary()
    backend.ensure_schema()
    yield backend
    backend.close()


def pytest_report_header(config: pytest.Config) -> str:
    if MONGO_URI:
        return "store tests: embedded and real MongoDB (MVT_TEST_MONGO_URI)"
    return "store tests: embedded only; the real-MongoDB variants are skipped (set MVT_TEST_MONGO_URI)"


@pytest.fixture
def live_server(settings: Settings, shared_backend: Backend) -> Iterator[str]:
    """A real server on ``shared_backend``; yields its URL."""
    with serving(create_app(settings, backend=shared_backend)) as url:
        yield url
