"""POST /v1/rewards: single and batch, idempotency, unknown events accepted."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.helpers import eventually, services_of


def test_single_reward_is_accepted_and_stored(client: TestClient) -> None:
    response = client.post("/v1/rewards", json={"event_id": "e1", "reward": 1.5})
    assert response.status_code == 202
    assert response.json() == {"accepted": 1}
    eventually(lambda: [r.reward for r in services_of(client).store.events.rewards_of("e1")] == [1.5])


def test_reposting_a_reward_stores_it_once(client: TestClient) -> None:
    client.post("/v1/rewards", json={"event_id": "e1", "reward": 1.0})
    response = client.post("/v1/rewards", json={"event_id": "e1", "reward": 1.0})
    assert response.status_code == 202
    eventually(lambda: [r.reward for r in services_of(client).store.events.rewards_of("e1")] == [1.0])


def test_batch_with_distinct_reward_ids_and_repeats(client: TestClient) -> None:
    batch = [
        {"event_id": "e1", "reward": 1.0, "reward_id": "click"},
        {"event_id": "e1", "reward": 30.0, "reward_id": "order"},
        {"event_id": "e1", "reward": 1.0, "reward_id": "click"},
        {"event_id": "e2", "reward": 0.0},
    ]
    response = client.post("/v1/rewards", json=batch)
    assert response.status_code == 202
    assert response.json() == {"accepted": 4}
    assert client.post("/v1/rewards", json=batch).json() == {"accepted": 4}
    eventually(lambda: len(services_of(client).store.events.reward_ids()) == 3)
    assert [(r.reward_id, r.reward) for r in services_of(client).store.events.rewards_of("e1")] == [
        ("click", 1.0),
        ("order", 30.0),
    ]


def test_reward_for_a_decision_not_yet_seen_is_kept(client: TestClient) -> None:
    client.post("/v1/rewards", json={"event_id": "future-event", "reward": 2.0})
    eventually(lambda: [r.reward for r in services_of(client).store.events.rewards_of("future-event")] == [2.0])


def test_a_batch_with_one_invalid_item_writes_nothing(client: TestClient) -> None:
    batch = [{"event_id": "ok-1", "reward": 1.0}, {"event_id": "bad", "reward": "NaN"}]
    response = client.post("/v1/rewards", json=batch)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("1.reward:")
    assert not services_of(client).store.events.reward_ids()
