"""Small helpers shared by tests."""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient

from mvt_service.deps import Services


def eventually(check: Callable[[], object], timeout: float = 5.0, message: str = "condition not met in time") -> None:
    """Poll ``check`` until it returns something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, message
        time.sleep(0.02)


def services_of(client: TestClient) -> Services:
    """What the lifespan of a test client's app opened: its store, runtime, log writer."""
    app = client.app
    if not isinstance(app, FastAPI):
        raise TypeError(f"not an mvt app: {app!r}")
    services: Services = app.state.services
    return services
