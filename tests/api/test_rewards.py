"""POST /v1/rewards: single and batch, idempotency, unknown events accepted."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests import factories


def test_single_reward_is_accepted(client: TestClient) -> None:
    response = client.post("/v1/rewards", json={"event_id": "e1", "reward": 1.5})
    assert response.status_code == 202
    assert response.json() == {"accepted": 1, "duplicates": 0}


def test_reposting_a_reward_is_a_duplicate_not_a_second_reward(client: TestClient) -> None:
    client.post("/v1/rewards", json={"event_id": "e1", "reward": 1.0})
    response = client.post("/v1/rewards", json={"event_id": "e1", "reward": 1.0})
    assert response.json() == {"accepted": 0, "duplicates": 1}
    store = client.app.state.services.store
    assert [r.reward for r in factories.rewards_of(store, "e1")] == [1.0]


def test_batch_with_distinct_reward_ids_and_duplicates(client: TestClient) -> None:
    batch = [
        {"event_id": "e1", "reward": 1.0, "reward_id": "click"},
        {"event_id": "e1", "reward": 30.0, "reward_id": "order"},
        {"event_id": "e1", "reward": 1.0, "reward_id": "click"},
        {"event_id": "e2", "reward": 0.0},
    ]
    response = client.post("/v1/rewards", json=batch)
    assert response.status_code == 202
    assert response.json() == {"accepted": 3, "duplicates": 1}
    again = client.post("/v1/rewards", json=batch)
    assert again.json() == {"accepted": 0, "duplicates": 4}


def test_reward_for_a_decision_not_yet_seen_is_kept(client: TestClient) -> None:
    client.post("/v1/rewards", json={"event_id": "future-event", "reward": 2.0})
    assert [r.reward for r in factories.rewards_of(client.app.state.services.store, "future-event")] == [2.0]


def test_a_batch_with_one_invalid_item_writes_nothing(client: TestClient) -> None:
    batch = [{"event_id": "ok-1", "reward": 1.0}, {"event_id": "bad", "reward": "NaN"}]
    response = client.post("/v1/rewards", json=batch)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("1.reward:")
    assert client.app.state.services.store.rewards.count_documents({}) == 0
