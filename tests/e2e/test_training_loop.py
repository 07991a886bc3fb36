"""The whole loop through the HTTP API: decisions, rewards, a training cycle through the
promotion gate, better decisions, a worse candidate rejected, and every worker following the
active policy (including a rollback)."""

from __future__ import annotations

import random
import sys
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from mvt_service.app import GC_THRESHOLD, SWITCH_SECONDS, create_app
from mvt_service.settings import Settings
from policy.records import utcnow
from store.repositories import Backend
from tests.helpers import TickingClock, eventually, services_of, stored_ids

BEST = {"mobile": "hero=small,cta=green", "desktop": "hero=big,cta=blue"}
EXPERIMENT = {
    "factors": {"hero": ["big", "small"], "cta": ["green", "blue"]},
    "exploration": {"epsilon": 0.2},
    "reward": {"window_seconds": 2},
    "training": {"min_events": 500, "interval_seconds": 86400},
    "promotion": {"min_events": 200},
}


def drive_traffic(client: TestClient, visitors: int, rng: random.Random) -> list[dict]:
    """Visitors ask for a layout and click with probability 0.7 on their device's best
    layout, 0.1 on any other; every 25 visitors the clicks go to the webhook as one batch, well
    within the 2-second attribution window."""
    answers, clicks = [], []
    for i in range(visitors):
        device = rng.choice(list(BEST))
        answer = client.post("/v1/decisions", json={"experiment": "shop", "context": {"device": device}}).json()
        answers.append(answer)
        if rng.random() < (0.7 if answer["action"] == BEST[device] else 0.1):
            clicks.append({"event_id": answer["event_id"], "reward": 1.0})
        if clicks and (i % 25 == 24 or i == visitors - 1):
            assert client.post("/v1/rewards", json=clicks).status_code == 202
            clicks = []
    return answers


def wait_written(client: TestClient, answers: list[dict]) -> None:
    """Wait until the write-behind log has stored these decisions."""
    store = services_of(client).store
    ids = [a["event_id"] for a in answers]
    eventually(lambda: stored_ids(store, ids) == ids, timeout=10)


def greedy_hit_rate(client: TestClient, per_device: int = 50) -> tuple[float, set[int]]:
    hits, versions = 0, set()
    for device, best in BEST.items():
        for _ in range(per_device):
            answer = client.post(
                "/v1/decisions", json={"experiment": "shop", "context": {"device": device}, "explore": False}
            ).json()
            hits += answer["action"] == best
            versions.add(answer["policy_version"])
    return hits / (per_device * len(BEST)), versions


def test_the_bandit_learns_the_best_layout_per_context(shared_backend: Backend, settings: Settings) -> None:
    rng, clock = random.Random(42), TickingClock()
    with (
        TestClient(create_app(settings, backend=shared_backend, clock=clock)) as client,
        TestClient(create_app(settings, backend=shared_backend, clock=clock)) as other_worker,
    ):
        assert client.put("/v1/experiments/shop", json=EXPERIMENT).status_code == 201
        before = drive_traffic(client, 1500, rng)
        assert {a["policy_version"] for a in before} == {0}
        wait_written(client, before)
        clock.advance(3)  # the last attribution windows close

        cycle = client.post("/v1/experiments/shop/train").json()
        assert (cycle["status"], cycle["version"], cycle["join"]["examples"]) == ("active", 1, 1500), cycle
        assert (cycle["mode"], cycle["events"]) == ("new", 1500)
        # about a quarter of uniform traffic clicks (0.25 * 0.7 + 0.75 * 0.1); none arrive late
        assert cycle["join"]["rewards_late"] == 0 and 300 < cycle["join"]["rewards_joined"] < 450

        # chance is 1 in 4; a policy that learnt the interaction picks the best layout nearly always
        rate, versions = greedy_hit_rate(client)
        assert rate >= 0.9 and versions == {1}
        eventually(lambda: greedy_hit_rate(other_worker, 1)[1] == {1}, 2, "the second worker never picked up v1")

        # a deliberately worse candidate: a learning rate so small it learns nearly nothing
        worse = {**EXPERIMENT, "training": {**EXPERIMENT["training"], "vw": {"learning_rate": 1e-6}}}
        assert client.put("/v1/experiments/shop", json=worse).status_code == 200
        rejected = client.post("/v1/experiments/shop/train").json()
        assert (rejected["status"], rejected["version"]) == ("rejected", 2)
        assert "the lower bound does not exceed min_improvement 0" in rejected["reason"]
        policies = client.get("/v1/experiments/shop/policies").json()
        assert next((p["version"], p["status"], p["reason"]) for p in policies) == (2, "rejected", rejected["reason"])
        report = client.get("/v1/experiments/shop/reports/latest").json()
        assert report["verdict"] == {"promoted": False, "reason": rejected["reason"]}
        assert greedy_hit_rate(client, 5)[1] == {1}  # v1 keeps serving

        # by hand, the gate is bypassed (and recorded); rolling back returns every worker to v1
        assert client.post("/v1/experiments/shop/policies/2/activate").json()["reason"] == "activated by hand"
        assert greedy_hit_rate(client, 5)[1] == {2}
        assert client.post("/v1/experiments/shop/policies/1/activate").status_code == 200
        assert greedy_hit_rate(client, 5)[1] == {1}
        eventually(lambda: greedy_hit_rate(other_worker, 1)[1] == {1}, 2, "the second worker never rolled back")


def test_serve_runs_the_schedule_in_process(shared_backend: Backend, settings: Settings) -> None:
    from tests import factories

    in_process = settings.model_copy(update={"train_in_process": True, "trainer_poll_seconds": 0.05})
    with TestClient(create_app(in_process, backend=shared_backend)) as client:
        # the data is there before the experiment, so the schedule's first look at it can train
        factories.log_uniform_traffic(
            shared_backend.store(), 300, ts=utcnow() - timedelta(hours=1)
        )  # the app's clock is real
        client.put(
            "/v1/experiments/exp",
            json={
                "arms": [{"id": "a"}, {"id": "b"}, {"id": "c"}],
                "reward": {"window_seconds": 60},
                "training": {"min_events": 100, "interval_seconds": 3600},
                "promotion": {"min_events": 50},
            },
        )
        eventually(
            lambda: client.post("/v1/decisions", json={"experiment": "exp"}).json()["policy_version"] == 1,
            10,
            "the in-process schedule never trained",
        )


def test_the_report_compares_bandit_and_holdout_traffic_online(shared_backend: Backend, settings: Settings) -> None:
    rng, clock = random.Random(7), TickingClock()
    with TestClient(create_app(settings, backend=shared_backend, clock=clock)) as client:
        client.put("/v1/experiments/shop", json={**EXPERIMENT, "holdout": {"fraction": 0.3}})
        wait_written(client, drive_traffic(client, 1000, rng))
        clock.advance(3)
        client.post("/v1/experiments/shop/train")
        online = client.get("/v1/experiments/shop/reports/latest").json()["online"]
        assert online["bandit"]["n"] + online["holdout"]["n"] == 1000
        assert abs(online["holdout"]["n"] - 300) < 75  # binomial(1000, 0.3): sd 14.5
        d = online["difference"]
        assert d["low"] < d["value"] < d["high"]
        page = client.get("/v1/experiments/shop/reports/latest?format=html").text
        assert "Online: bandit traffic against the holdout group" in page


@pytest.mark.parametrize("trains", [True, False], ids=["trains in process", "trains elsewhere"])
def test_an_app_switches_threads_often_while_it_runs(settings: Settings, trains: bool) -> None:
    """So that a decision never waits long for the lock the log writer or a training cycle
    holds (measured in BENCHMARKS.md); the interval is restored when the app stops."""
    before = sys.getswitchinterval()
    in_process = settings.model_copy(update={"train_in_process": trains, "trainer_poll_seconds": 3600})
    with TestClient(create_app(in_process)):
        assert sys.getswitchinterval() == SWITCH_SECONDS < before
    assert sys.getswitchinterval() == before


def test_an_app_collects_garbage_less_often_while_it_runs_and_restores_the_setting(settings: Settings) -> None:
    """Measured in BENCHMARKS.md (issue 18): decision p99 123-158 ms at Python's default, 27 ms."""
    import gc

    before = gc.get_threshold()
    with TestClient(create_app(settings)):
        assert gc.get_threshold() == (GC_THRESHOLD, *before[1:]) and gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
