"""A trained VW policy in the registry is picked up by running workers and drives decisions."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from mvt_service.app import create_app
from mvt_service.settings import Settings
from policy.features import arm_line, context_line
from policy.model import VWModel
from store.repositories import Backend, Store
from tests import factories
from tests.helpers import eventually

ARMS = {
    "arms": [{"id": "a", "features": {"color": "red"}}, {"id": "b", "features": {"color": "blue"}}],
    "exploration": {"epsilon": 0.2},
}


def model_preferring(best: dict[str, int]) -> bytes:
    """A model taught that visitors of each device reward arm ``best[device]`` (index)."""
    lines = [arm_line("a", {"color": "red"}), arm_line("b", {"color": "blue"})]
    model = VWModel.new(seed=1)
    try:
        for _ in range(300):
            for device, arm in best.items():
                model.learn(context_line({"device": device}), lines, arm, 0.5, 1.0)
                model.learn(context_line({"device": device}), lines, 1 - arm, 0.5, 0.0)
        return model.to_bytes()
    finally:
        model.close()


def activate(store: Store, version: int, model: bytes) -> None:
    store.policies.insert(factories.policy_record(experiment="ab", version=version), model)
    store.policies.activate("ab", version, "test")


def decide(client: TestClient, device: str, **extra: object) -> dict:
    response = client.post("/v1/decisions", json={"experiment": "ab", "context": {"device": device}, **extra})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def worker(shared_backend: Backend, settings: Settings):
    with TestClient(create_app(settings, backend=shared_backend)) as client:
        client.put("/v1/experiments/ab", json=ARMS)
        yield client


def test_greedy_decisions_follow_the_active_policy(worker: TestClient, shared_backend: Backend) -> None:
    activate(shared_backend.store(), 1, model_preferring({"mobile": 1, "desktop": 0}))
    eventually(lambda: decide(worker, "mobile")["policy_version"] == 1)
    for _ in range(20):
        assert decide(worker, "mobile", explore=False) | {"event_id": ""} == {
            "event_id": "",
            "experiment": "ab",
            "action": "b",
            "probability": 1.0,
            "policy_version": 1,
            "explored": False,
        }
        assert decide(worker, "desktop", explore=False)["action"] == "a"


def test_explored_frequencies_match_the_logged_probabilities(worker: TestClient, shared_backend: Backend) -> None:
    activate(shared_backend.store(), 1, model_preferring({"mobile": 1}))
    eventually(lambda: decide(worker, "mobile")["policy_version"] == 1)
    answers = [decide(worker, "mobile") for _ in range(2000)]
    assert {(a["action"], a["probability"], a["explored"]) for a in answers} == {("b", 0.9, False), ("a", 0.1, True)}
    picked_b = sum(a["action"] == "b" for a in answers)
    # binomial(2000, 0.9): sd = 13.4; 5 sd = 67
    assert abs(picked_b - 1800) < 67


def test_a_new_version_replaces_the_old_and_rollback_returns(worker: TestClient, shared_backend: Backend) -> None:
    store = shared_backend.store()
    v1, v2 = model_preferring({"mobile": 1}), model_preferring({"mobile": 0})
    activate(store, 1, v1)
    eventually(lambda: decide(worker, "mobile", explore=False)["action"] == "b")
    activate(store, 2, v2)
    eventually(lambda: decide(worker, "mobile", explore=False)["policy_version"] == 2)
    assert decide(worker, "mobile", explore=False)["action"] == "a"
    store.policies.activate("ab", 1, "rollback")
    eventually(lambda: decide(worker, "mobile", explore=False)["policy_version"] == 1)
    assert decide(worker, "mobile", explore=False)["action"] == "b"


def test_an_unloadable_model_is_never_served(worker: TestClient, shared_backend: Backend, caplog) -> None:
    store = shared_backend.store()
    activate(store, 1, model_preferring({"mobile": 1}))
    eventually(lambda: decide(worker, "mobile")["policy_version"] == 1)
    activate(store, 2, b"corrupt bytes")
    eventually(lambda: "policy ab v2 cannot be served" in caplog.text)
    assert decide(worker, "mobile", explore=False) | {"event_id": ""} == {
        "event_id": "",
        "experiment": "ab",
        "action": "b",
        "probability": 1.0,
        "policy_version": 1,
        "explored": False,
    }


def test_a_second_worker_sees_an_experiment_change_within_the_reload_interval(
    worker: TestClient, shared_backend: Backend, settings: Settings
) -> None:
    with TestClient(create_app(settings, backend=shared_backend)) as other:
        assert decide(other, "mobile")["probability"] == 0.5
        worker.put("/v1/experiments/ab", json={"arms": [{"id": "only"}]})
        eventually(lambda: decide(other, "mobile")["action"] == "only", timeout=1.0)
