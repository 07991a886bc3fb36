"""POST /v1/decisions: answers, logging, idempotent retries, restrictions, greedy answers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from policy.records import Decision
from tests.factories import experiment_body
from tests.helpers import both_decision_paths, decisions_of, eventually, services_of

pytestmark = both_decision_paths


def logged(client: TestClient, event_id: str) -> Decision:
    """The stored decision, once the write-behind log has written it."""
    events = services_of(client).store.events
    eventually(lambda: events.get_decision(event_id), message=f"{event_id} never written")
    decision = events.get_decision(event_id)
    assert decision is not None
    return decision


def test_decision_for_the_demo_experiment(client: TestClient) -> None:
    response = client.post(
        "/v1/decisions", json={"experiment": "home", "context": {"device": "mobile", "geo": "DE", "referrer": "google"}}
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"event_id", "experiment", "action", "probability", "policy_version", "explored"}
    assert body["experiment"] == "home" and body["policy_version"] == 0
    assert body["probability"] == pytest.approx(1 / 12)  # cold start: uniform
    assert body["explored"] is False


def test_every_decision_is_logged_with_its_exact_pmf(client: TestClient) -> None:
    body = client.post(
        "/v1/decisions", json={"experiment": "home", "context": {"device": "mobile", "visits": 3, "member": True}}
    ).json()
    doc = logged(client, body["event_id"])
    assert doc.experiment == "home" and doc.action == body["action"]
    assert list(doc.context.items()) == [("device", "mobile"), ("visits", 3), ("member", True)]
    assert len(doc.actions) == 12 and len(doc.pmf) == 12
    assert doc.probability == body["probability"] == doc.pmf[doc.actions.index(doc.action)]
    assert doc.epsilon == 0.2 and doc.policy_version == 0 and doc.deferred is False
    assert doc.ts.tzinfo is not None


def test_actions_restrict_the_eligible_arms(client: TestClient) -> None:
    client.put("/v1/experiments/abc", json={"arms": [{"id": "a"}, {"id": "b"}, {"id": "c"}]})
    seen = set()
    for _ in range(40):
        body = client.post("/v1/decisions", json={"experiment": "abc", "actions": ["c", "a"]}).json()
        assert body["probability"] == pytest.approx(0.5)
        seen.add(body["action"])
    assert seen == {"a", "c"}
    doc = logged(client, body["event_id"])
    assert doc.actions == ("a", "c")  # experiment order, whatever the request's


def test_retry_with_the_same_event_id_returns_the_original_decision(client: TestClient) -> None:
    request = {"experiment": "home", "context": {"device": "mobile"}, "event_id": "page-view-42"}
    first = client.post("/v1/decisions", json=request).json()
    retries = [client.post("/v1/decisions", json=request).json() for _ in range(20)]
    assert all(r == first for r in retries)
    assert first["event_id"] == "page-view-42"
    services_of(client).writer.close()  # drain
    assert [d.event_id for d in decisions_of(services_of(client).store, "home")] == ["page-view-42"]


def test_event_id_reused_for_another_experiment_is_a_conflict(client: TestClient) -> None:
    client.put("/v1/experiments/other", json=experiment_body())
    client.post("/v1/decisions", json={"experiment": "home", "event_id": "shared-id"})
    response = client.post("/v1/decisions", json={"experiment": "other", "event_id": "shared-id"})
    assert response.status_code == 409
    assert "already used for experiment `home`" in response.json()["detail"]


def test_explore_false_is_greedy_and_logged_with_epsilon_zero(client: TestClient) -> None:
    client.put("/v1/experiments/one", json={"arms": [{"id": "a"}, {"id": "b"}], "exploration": {"epsilon": 1.0}})
    body = client.post("/v1/decisions", json={"experiment": "one", "explore": False}).json()
    # no policy yet: every arm is greedy, so the greedy answer is still uniform over the tie
    assert body["probability"] == pytest.approx(0.5) and body["explored"] is False
    assert logged(client, body["event_id"]).epsilon == 0.0


def test_deferred_decision_is_logged_as_deferred_and_activated_once(client: TestClient) -> None:
    body = client.post("/v1/decisions", json={"experiment": "home", "defer_activation": True}).json()
    assert logged(client, body["event_id"]).deferred is True
    first = client.post(f"/v1/decisions/{body['event_id']}/activate")
    assert first.status_code == 202 and first.json() == {"event_id": body["event_id"], "duplicate": False}
    again = client.post(f"/v1/decisions/{body['event_id']}/activate")
    assert again.json()["duplicate"] is True


def test_epsilon_one_explores_uniformly(client: TestClient) -> None:
    client.put(
        "/v1/experiments/uni",
        json={"arms": [{"id": "a"}, {"id": "b"}, {"id": "c"}, {"id": "d"}], "exploration": {"epsilon": 1.0}},
    )
    answers = [client.post("/v1/decisions", json={"experiment": "uni"}).json() for _ in range(400)]
    assert all(a["probability"] == pytest.approx(0.25) for a in answers)
    counts = {arm: sum(a["action"] == arm for a in answers) for arm in "abcd"}
    # binomial(400, 0.25): sd = 8.66; 5 sd = 43
    assert all(abs(c - 100) < 43 for c in counts.values())
