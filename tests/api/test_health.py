"""Liveness and readiness."""

from __future__ import annotations

from fastapi.testclient import TestClient

from mvt_service.app import create_app
from mvt_service.settings import Settings
from store.errors import StoreUnavailable
from tests.helpers import services_of


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_the_store_and_the_log(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "store": "ok",
        "log": {"writer": "running", "pending": 0, "spool_bytes": 0},
        "policies": {},
        "candidates": {},
        "policy_errors": {},
        "candidate_errors": {},
    }


def test_readyz_is_503_when_the_store_is_unreachable(client: TestClient, monkeypatch) -> None:
    def unreachable() -> None:
        raise StoreUnavailable("no servers") from ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(services_of(client).store.backend, "ping", unreachable)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["store"] == "unreachable: ConnectionRefusedError"


def test_readyz_is_503_while_the_log_writer_is_down_or_backed_up(settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"log_ready_backlog": 2}))) as client:
        writer = services_of(client).writer
        writer.close()  # stands for a writer that cannot keep up: nothing is written any more
        for _ in range(3):
            client.post("/v1/decisions", json={"experiment": "home"})
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["status"] == "unavailable" and response.json()["log"]["pending"] == 3


def test_metrics_count_decisions_and_rewards_and_report_the_log(client: TestClient) -> None:
    def sample(text: str, name: str) -> float:
        return float(next(line.split()[-1] for line in text.splitlines() if line.startswith(name)))

    before = client.get("/metrics").text
    for _ in range(3):
        client.post("/v1/decisions", json={"experiment": "home", "context": {"device": "mobile"}})
    client.post("/v1/rewards", json=[{"event_id": "e1", "reward": 1.0}, {"event_id": "e2", "reward": 1.0}])
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    after = response.text
    counted = 'mvt_decisions_total{experiment="home",group="bandit"}'
    assert sample(after, counted) - (sample(before, counted) if counted in before else 0) == 3
    assert sample(after, "mvt_rewards_received_total") - sample(before, "mvt_rewards_received_total") == 2
    assert sample(after, 'mvt_exploration_epsilon{experiment="home"}') == 0.2
    for name in (
        "mvt_decision_seconds_bucket",
        "mvt_log_queue_depth",
        "mvt_spool_bytes",
        "mvt_log_write_failures_total",
        "mvt_log_quarantined_total",
        "mvt_log_writer_errors_total",
    ):
        assert name in after


def test_a_store_outage_is_503_with_retry_after_not_500(client: TestClient, monkeypatch) -> None:
    def electing(*_: object) -> None:
        raise StoreUnavailable("not primary")

    monkeypatch.setattr(services_of(client).store.experiments, "put", electing)
    response = client.put("/v1/experiments/x", json={"arms": [{"id": "a"}]})
    assert response.status_code == 503 and response.headers["retry-after"] == "2"
    assert response.headers["content-type"] == "application/problem+json"
    # decisions keep flowing from the worker's cache meanwhile
    assert client.post("/v1/decisions", json={"experiment": "home"}).status_code == 200
