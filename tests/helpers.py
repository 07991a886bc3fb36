"""Small helpers shared by tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from mvt_service.deps import Services
from policy.records import Decision
from store.repositories import Store


def eventually(check: Callable[[], object], timeout: float = 5.0, message: str = "condition not met in time") -> None:
    """Poll ``check`` until it returns something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, message
        time.sleep(0.02)


FOREVER = datetime(9999, 1, 1, tzinfo=UTC)


def decisions_of(store: Store, experiment: str = "exp") -> list[Decision]:
    """Every stored decision of ``experiment``, by time (all that were readable)."""
    return [d for d in store.events.decisions_between(experiment, None, FOREVER) if isinstance(d, Decision)]


def is_activated(store: Store, event_id: str) -> bool:
    """Whether the stored decision ``event_id`` was activated."""
    d = store.events.get_decision(event_id)
    return d is not None and (d.ts, event_id) in set(store.events.activations_between(d.experiment, d.ts, FOREVER))


def all_decisions(store: Store) -> list[Decision]:
    """Every stored decision of every experiment."""
    return [d for e in store.experiments.list() for d in decisions_of(store, e.id)]


def stored_ids(store: Store, event_ids: list[str]) -> list[str]:
    """Those of ``event_ids`` whose decision is stored."""
    return [e for e in event_ids if store.events.get_decision(e) is not None]


def services_of(client: TestClient) -> Services:
    """What the lifespan of a test client's app opened: its store, runtime, log writer."""
    app = client.app
    if not isinstance(app, FastAPI):
        raise TypeError(f"not an mvt app: {app!r}")
    services: Services = app.state.services
    return services


class TickingClock:
    """A controllable UTC clock for an app (``create_app(..., clock=...)``): every reading moves
    it on by ``tick`` (so stamped events keep their order), and :meth:`advance` jumps ahead, e.g.
    past an attribution window, without waiting. Safe to read from several threads."""

    def __init__(self, start: datetime | None = None, tick: timedelta = timedelta(milliseconds=1)) -> None:
        self._now = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        self._tick = tick
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            self._now += self._tick
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)


both_decision_paths = pytest.mark.parametrize("fast_path", [True, False], ids=["fast path", "general path"])
"""For ``pytestmark`` of the modules that test decisions: they run against both ways a decision
request can be answered (``create_app(fast_path=...)``, :mod:`mvt_service.fast_decisions`)."""
