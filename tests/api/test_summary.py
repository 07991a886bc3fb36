"""The console's figures (``GET …/summary``): traffic and reward by group over time, data health
with the holdout's sample-ratio check, segments, feature importance, training status, changes
and alerts; and the holdout control."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import factories
from tests.factories import T0
from tests.helpers import TickingClock, services_of

EXPERIMENT = {
    **factories.THREE_ARMS,
    "reward": {"window_seconds": 60},
    "training": {"min_events": 100},
    "promotion": {"min_events": 50},
}


@pytest.fixture
def clock() -> TickingClock:
    """A day after the traffic below, which is within the summary's last 24 hours."""
    return TickingClock(start=T0 + timedelta(hours=30))


@pytest.fixture
def trained(client: TestClient) -> TestClient:
    client.put("/v1/experiments/exp", json=EXPERIMENT)
    factories.log_uniform_traffic(services_of(client).store, 2000, ts=T0 + timedelta(hours=20))
    assert client.post("/v1/experiments/exp/train").json()["status"] == "active"
    return client


def summary(client: TestClient, **query: Any) -> dict[str, Any]:
    answer = client.get("/v1/experiments/exp/summary", params=query)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_traffic_counts_every_decision_and_rewards_the_closed_ones(trained: TestClient) -> None:
    found = summary(trained)
    buckets = found["traffic"]
    assert len(buckets) == 24 and found["bucket_seconds"] == 3600
    assert sum(sum(b["decisions"].values()) for b in buckets) == 2000
    rewarded = [b["reward"]["bandit"] for b in buckets if b["reward"]]
    assert sum(r["n"] for r in rewarded) == 2000
    busiest = max(rewarded, key=lambda r: r["n"])
    assert busiest["low"] < busiest["value"] < busiest["high"]
    health = found["health"]
    assert (health["decisions"], health["closed"], health["holdout_ratio"]) == (2000, 2000, None)
    assert health["default_reward_share"] == pytest.approx(1 - health["rewards_joined"] / 2000)


def test_segments_and_importance_name_the_feature_the_policy_uses(trained: TestClient) -> None:
    """The factories' shop makes the best arm depend on the device only."""
    found = summary(trained)
    (device,) = [s for s in found["segments"] if s["feature"] == "device"]
    assert sum(v["decisions"] for v in device["values"]) == 2000
    assert found["importance"][0]["feature"] == "device" and found["importance"][0]["changed_share"] > 0.3


def test_changes_list_the_promotion_and_alerts_say_what_needs_an_eye(trained: TestClient) -> None:
    found = summary(trained)
    assert [(c["action"], c["after"]["active_policy"]) for c in found["changes"]] == [("policy_promoted", 1)]
    assert found["alerts"] == [] and found["training"]["failures"] == 0
    trained.post("/v1/experiments/exp/pause")
    assert summary(trained)["alerts"] == ["paused: every visitor gets the default layout"]


def test_the_sample_ratio_check_flags_a_holdout_that_does_not_get_its_share(trained: TestClient) -> None:
    """The traffic above was logged without a holdout; configured afterwards, the check sees 0 of
    2,000 where 10% is expected: z = −200 / √180, p far below 0.001."""
    answer = trained.patch("/v1/experiments/exp/holdout", json={"fraction": 0.1})
    assert answer.status_code == 200 and answer.json()["holdout"] == {"fraction": 0.1}
    ratio = summary(trained)["health"]["holdout_ratio"]
    assert ratio["observed"] == 0 and ratio["p_value"] == pytest.approx(math.erfc(200 / math.sqrt(180) / math.sqrt(2)))
    assert any("the holdout gets 0.0% of visitors where 10.0% is configured" in a for a in summary(trained)["alerts"])
    audit = trained.get("/v1/audit?experiment=exp").json()
    assert audit[0]["action"] == "set_holdout" and audit[0]["before"] == {"holdout": 0.0}


@pytest.mark.parametrize("body", [{"fraction": 0.6}, {"fraction": -0.1}, {"fraction": "a tenth"}])
def test_a_holdout_share_out_of_range_is_422(trained: TestClient, body: dict[str, Any]) -> None:
    answer = trained.patch("/v1/experiments/exp/holdout", json=body)
    assert answer.status_code == 422 and "fraction" in answer.json()["detail"]


def test_an_experiment_without_traffic_has_empty_figures_and_an_alert(client: TestClient) -> None:
    client.put("/v1/experiments/exp", json=EXPERIMENT)
    found = summary(client, hours=1)
    assert found["importance"] == [] and found["segments"] == []
    assert found["alerts"] == ["no decision in the window"]
    assert client.get("/v1/experiments/nope/summary").status_code == 404
