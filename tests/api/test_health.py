"""Liveness and readiness."""

from __future__ import annotations

from fastapi.testclient import TestClient
from pymongo.errors import ServerSelectionTimeoutError


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_the_store_and_the_log(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "store": "ok",
                               "decision_log": {"pending": 0, "write_failures": 0},
                               "policies": {}, "policy_errors": {}}


def test_readyz_is_503_when_the_store_is_unreachable(client: TestClient, monkeypatch) -> None:
    def unreachable() -> None:
        raise ServerSelectionTimeoutError("no servers")

    monkeypatch.setattr(client.app.state.services.store, "ping", unreachable)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["store"] == "unreachable: ServerSelectionTimeoutError"
