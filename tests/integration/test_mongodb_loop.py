"""The whole loop against a real MongoDB (``MVT_TEST_MONGO_URI``, e.g. the compose stack's
``mongodb://localhost:27017/?replicaSet=rs0``): the same code the embedded store runs, through
the HTTP API. Skipped, with the reason printed, when no MongoDB is configured."""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mvt_service.app import create_app
from mvt_service.settings import Settings
from policy.records import utcnow
from store import mongo
from tests.helpers import TickingClock, decisions_of, eventually, services_of

MONGO_URI = os.environ.get("MVT_TEST_MONGO_URI")
pytestmark = pytest.mark.skipif(not MONGO_URI, reason="set MVT_TEST_MONGO_URI to run the loop against a real MongoDB")

EXPERIMENT = {
    "arms": [
        {"id": "a", "features": {"color": "red"}},
        {"id": "b", "features": {"color": "blue"}},
        {"id": "c", "features": {"color": "green"}},
    ],
    "exploration": {"epsilon": 0.5},
    "reward": {"window_seconds": 1},
    "training": {"min_events": 500},
    "promotion": {"min_events": 100},
}
BEST = {"mobile": "b", "desktop": "a", "tablet": "c"}


@pytest.fixture
def clock() -> TickingClock:
    return TickingClock(start=utcnow())  # near the real time: the TTL index (retention) runs on MongoDB's clock


@pytest.fixture
def client(tmp_path: Path, clock: TickingClock) -> Iterator[TestClient]:
    database = f"mvt_it_{uuid.uuid4().hex[:8]}"
    settings = Settings(
        _env_file=None,
        mongo_uri=MONGO_URI,
        mongo_db=database,
        train_in_process=False,
        log_flush_seconds=0.05,
        spool_dir=tmp_path / "spool",
        retention_days=30,
    )
    try:
        with TestClient(create_app(settings, clock=clock)) as c:
            yield c
    finally:
        dropped = mongo.connect(MONGO_URI, database)
        dropped.drop()
        dropped.close()


def test_decide_reward_train_promote_and_serve(client: TestClient, clock: TickingClock) -> None:
    assert client.get("/readyz").json()["store"] == "ok"
    assert client.put("/v1/experiments/it", json=EXPERIMENT).status_code == 201
    rng = random.Random(7)
    rewards = 0
    for _ in range(1500):
        device = rng.choice(list(BEST))
        answer = client.post("/v1/decisions", json={"experiment": "it", "context": {"device": device}}).json()
        if rng.random() < (0.8 if answer["action"] == BEST[device] else 0.2):
            assert client.post("/v1/rewards", json={"event_id": answer["event_id"], "reward": 1.0}).status_code == 202
            rewards += 1
    store = services_of(client).store
    eventually(lambda: len(decisions_of(store, "it")) == 1500 and len(store.events.reward_ids()) == rewards)

    clock.advance(2)  # the attribution windows close
    cycle = client.post("/v1/experiments/it/train").json()
    assert cycle["status"] == "active", cycle
    greedy = {
        d: client.post("/v1/decisions", json={"experiment": "it", "context": {"device": d}, "explore": False}).json()
        for d in BEST
    }
    assert {d: a["action"] for d, a in greedy.items()} == BEST
    assert {a["policy_version"] for a in greedy.values()} == {1}
