"""The policy registry over HTTP: list, train now, search now, activate and roll back."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from store.records import ExperimentState, training_lease
from tests import factories
from tests.helpers import TickingClock, eventually, services_of

EXPERIMENT = factories.THREE_ARMS


def test_train_lists_and_rolls_back(client: TestClient, clock: TickingClock) -> None:
    client.put("/v1/experiments/exp", json=EXPERIMENT)
    factories.log_uniform_traffic(services_of(client).store, 600)  # logged long ago: windows closed

    first = client.post("/v1/experiments/exp/train")
    assert first.status_code == 200
    body = first.json()
    assert (body["status"], body["version"], body["mode"], body["events"]) == ("active", 1, "new", 600)
    assert (
        client.post("/v1/decisions", json={"experiment": "exp", "context": {"device": "mobile"}}).json()[
            "policy_version"
        ]
        == 1
    )
    again = client.post("/v1/experiments/exp/train").json()  # no decision closed since: nothing to learn
    assert (again["status"], again["version"]) == ("skipped", None)
    # new traffic, shuffled: the continued learner is no better than v1, held back by non-inferiority
    factories.log_uniform_traffic(services_of(client).store, 300, seed=1, ts=clock(), shuffle_rewards=True)
    clock.advance(3600)
    second = client.post("/v1/experiments/exp/train").json()
    assert (second["version"], second["mode"], second["events"]) == (2, "continued", 301)  # and the one asked above

    listed = client.get("/v1/experiments/exp/policies").json()
    assert [p["version"] for p in listed] == [2, 1] and listed[0]["status"] in ("rejected", "active")
    assert listed[0]["examples"] == 301 and listed[0]["vw_args"].startswith("--cb_adf --cb_type mtr")
    assert listed[0]["reason"] == second["reason"] and "model" not in listed[0]

    by_hand = client.post("/v1/experiments/exp/policies/2/activate").json()  # the gate is bypassed
    assert (by_hand["status"], by_hand["reason"]) == ("active", "activated by hand")
    rolled_back = client.post("/v1/experiments/exp/policies/1/activate")
    assert rolled_back.status_code == 200
    assert (rolled_back.json()["status"], rolled_back.json()["reason"]) == ("active", "activated by hand")
    assert client.get("/v1/experiments/exp").json()["active_policy"] == 1
    decision = client.post("/v1/decisions", json={"experiment": "exp", "context": {"device": "mobile"}}).json()
    assert decision["policy_version"] == 1


def test_training_without_enough_data_is_skipped(client: TestClient) -> None:
    client.put("/v1/experiments/exp", json=EXPERIMENT)
    body = client.post("/v1/experiments/exp/train").json()
    assert body == {
        "experiment": "exp",
        "status": "skipped",
        "version": None,
        "train_seconds": body["train_seconds"],
        "reason": "a new learner (no learner yet) needs training.min_events (100) closed-window decisions in the "
        "lookback window; there are 0",
        "join": body["join"],
        "mode": "new",
        "events": 0,
    }
    assert client.get("/v1/experiments/exp/policies").json() == []


def test_search_now_returns_every_setting_tried_and_registers_nothing(client: TestClient) -> None:
    search = {
        "learning_rates": [0.05, 0.5],
        "cb_types": ["mtr"],
        "interactions": [["UA"]],
        "l2": [0],
        "clip_p": [0.2],
        "passes": [1],
    }
    client.put("/v1/experiments/exp", json={**EXPERIMENT, "training": {"min_events": 100, "search": search}})
    factories.log_uniform_traffic(services_of(client).store, 600)
    response = client.post("/v1/experiments/exp/search")
    assert response.status_code == 200
    body = response.json()
    assert (body["metric"], body["events"], body["folds"]) == ("dr", 600, 3)
    assert [t["learning"]["learning_rate"] for t in body["trials"]] == [0.05, 0.5]
    [chosen] = [t for t in body["trials"] if t["chosen"]]
    assert chosen["learning"] == body["chosen"] and chosen["status"] == "chosen"
    assert all(t["estimate"]["low"] <= t["estimate"]["value"] <= t["estimate"]["high"] for t in body["trials"])
    assert client.get("/v1/experiments/exp/policies").json() == []


@pytest.mark.parametrize("action", ["train", "search"])
def test_train_or_search_while_another_trainer_holds_the_lease_is_409(client: TestClient, action: str) -> None:
    client.put("/v1/experiments/exp", json=EXPERIMENT)
    from policy.records import utcnow

    services_of(client).store.leases.acquire(training_lease("exp"), "someone-else", utcnow(), 600)
    response = client.post(f"/v1/experiments/exp/{action}")
    assert response.status_code == 409
    assert response.json()["detail"] == "experiment `exp` is being trained by another trainer"


def test_unknown_experiment_and_version(client: TestClient) -> None:
    assert client.get("/v1/experiments/nope/policies").status_code == 404
    assert client.post("/v1/experiments/nope/train").status_code == 404
    assert client.post("/v1/experiments/nope/search").status_code == 404
    client.put("/v1/experiments/exp", json=EXPERIMENT)
    response = client.post("/v1/experiments/exp/policies/7/activate")
    assert response.status_code == 404
    assert response.json()["detail"] == "policy v7 of experiment `exp` does not exist"
    assert client.post("/v1/experiments/exp/policies/0/activate").status_code == 422


def test_invalid_vw_settings_are_422(client: TestClient) -> None:
    body = {**EXPERIMENT, "training": {"vw": {"learning_rate": 50}}}
    response = client.put("/v1/experiments/exp", json=body)
    assert response.status_code == 422
    assert response.json()["detail"] == "training.vw: `learning_rate` must be in [1e-06, 10], got 50.0"
    response = client.put("/v1/experiments/exp", json={**EXPERIMENT, "training": {"vw": {"data": "/etc/passwd"}}})
    assert response.json()["detail"] == "training.vw.data: Extra inputs are not permitted"


def test_a_policy_whose_scores_are_not_finite_serves_uniform_random_logged_and_counted(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.put("/v1/experiments/exp", json=EXPERIMENT)
    factories.log_uniform_traffic(services_of(client).store, 600)
    assert client.post("/v1/experiments/exp/train").json()["status"] == "active"
    served = services_of(client).runtime._served["active"]["exp"].model
    monkeypatch.setattr(served, "score", lambda context, lines: [float("nan")] * len(lines))
    before = REGISTRY.get_sample_value("mvt_policy_fallbacks_total", {"experiment": "exp"}) or 0.0
    answer = client.post(
        "/v1/decisions", json={"experiment": "exp", "event_id": "nan-1", "context": {"device": "mobile"}}
    )
    assert answer.status_code == 200
    assert answer.json()["probability"] == pytest.approx(1 / 3) and answer.json()["policy_version"] == 1
    logged = services_of(client).store.events.get_decision("nan-1")
    assert logged is not None and logged.pmf == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    assert REGISTRY.get_sample_value("mvt_policy_fallbacks_total", {"experiment": "exp"}) == before + 1


def test_a_retired_policy_without_a_successor_stops_serving_on_every_worker(client: TestClient) -> None:
    client.put("/v1/experiments/exp", json=EXPERIMENT)
    factories.log_uniform_traffic(services_of(client).store, 600)
    assert client.post("/v1/experiments/exp/train").json()["status"] == "active"
    assert client.post("/v1/decisions", json={"experiment": "exp"}).json()["policy_version"] == 1
    services_of(client).store.policies.deactivate("exp", "worse than uniform random")
    eventually(
        lambda: client.post("/v1/decisions", json={"experiment": "exp"}).json()["policy_version"] == 0,
        message="the retired policy kept serving",
    )
    assert client.get("/readyz").json()["policies"] == {}


def test_a_refresh_that_read_older_states_never_unloads_a_policy_a_later_one_loaded(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker's refreshes run one at a time: one that read the states before a policy was
    activated finishes before the next reads them, so it cannot apply its stale "no policy"
    after the next loaded the new one."""
    import asyncio
    import threading

    services = services_of(client)
    client.put("/v1/experiments/exp", json=EXPERIMENT)
    factories.log_uniform_traffic(services.store, 600)
    assert client.post("/v1/experiments/exp/train").json()["status"] == "active"
    runtime, store = services.runtime, services.store
    store.policies.deactivate("exp", "for the test")
    client.portal.call(runtime.refresh)  # on the app's own event loop, as its poll runs
    assert runtime.served_policies() == {}
    stale = store.experiments.states()  # read before v1 is active again
    release = threading.Event()
    reads = iter([stale])

    def states() -> dict[str, ExperimentState]:
        state = next(reads, None)
        if state is not None:
            release.wait(5)  # the first refresh is held here, stale states in hand
            return state
        return experiments_states()

    experiments_states = store.experiments.states
    monkeypatch.setattr(store.experiments, "states", states)
    store.policies.activate("exp", 1, "again")

    async def both() -> None:
        first = asyncio.create_task(runtime.refresh())
        await asyncio.sleep(0.05)
        second = asyncio.create_task(runtime.refresh())
        await asyncio.sleep(0.05)
        release.set()
        await asyncio.gather(first, second)

    client.portal.call(both)
    assert runtime.served_policies() == {"exp": 1}


def test_a_policy_version_beyond_64_bits_is_a_422_naming_it(client: TestClient) -> None:
    response = client.post(f"/v1/experiments/home/policies/{2**63}/activate")
    assert response.status_code == 422 and response.json()["detail"].startswith("path.version: ")
