"""PUT, GET and list experiments; the demo experiment is there on the embedded store."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import experiment_body


def test_demo_experiment_is_seeded(client: TestClient) -> None:
    response = client.get("/v1/experiments/home")
    assert response.status_code == 200
    body = response.json()
    assert len(body["arms"]) == 12
    assert body["default_arm"] == "hero=big,cta=green,headline=value"
    assert body["factors"] == {
        "hero": ["big", "small"],
        "cta": ["green", "blue", "orange"],
        "headline": ["value", "urgency"],
    }


def test_put_creates_then_replaces(client: TestClient) -> None:
    created = client.put("/v1/experiments/checkout", json=experiment_body())
    assert created.status_code == 201
    assert created.json() == {
        "id": "checkout",
        "revision": 1,
        "arms": [
            {"id": "a", "features": {"color": "red"}, "enabled": True},
            {"id": "b", "features": {"color": "blue"}, "enabled": True},
        ],
        "factors": None,
        "exclude": [],
        "default_arm": "a",
        "exploration": {"epsilon": 0.2, "candidate_share": 0.5},
        "reward": {"window_seconds": 86400, "default": 0.0, "aggregate": "sum"},
        "training": {
            "interval_seconds": 3600,
            "min_events": 1000,
            "lookback_seconds": 1_209_600,
            "vw": {
                "cb_type": "mtr",
                "interactions": ["UA"],
                "learning_rate": 0.05,
                "power_t": 0.5,
                "l2": 0.0,
                "clip_p": 0.2,
                "bit_precision": 18,
                "passes": 1,
            },
            "search": {
                "enabled": True,
                "learning_rates": [0.01, 0.05, 0.2, 0.5, 1.0],
                "cb_types": ["ips", "dr", "mtr"],
                "interactions": [["UA"], ["UA", "AA"]],
                "l2": [0.0, 1e-6],
                "clip_p": [0.0, 0.1, 0.2],
                "passes": [1, 3],
                "folds": 3,
                "max_events": 50_000,
                "budget_seconds": 300.0,
            },
        },
        "promotion": {
            "metric": "dr",
            "confidence": 0.95,
            "min_improvement": 0.0,
            "min_events": 500,
            "margin": 0.05,
        },
        "holdout": {"fraction": 0.0},
        "sticky_seconds": 0.0,
        "active_policy": None,
        "candidate_policy": None,
        "paused": False,
    }
    replaced = client.put(
        "/v1/experiments/checkout",
        json=experiment_body(
            default_arm="b",
            exploration={"epsilon": 0.05},
            reward={"window_seconds": 600, "default": -0.5, "aggregate": "max"},
        ),
    )
    assert replaced.status_code == 200
    assert replaced.json()["revision"] == 2
    assert replaced.json()["default_arm"] == "b"
    assert client.get("/v1/experiments/checkout").json() == replaced.json()


def test_factor_experiment_with_exclusions(client: TestClient) -> None:
    response = client.put(
        "/v1/experiments/mv",
        json={
            "factors": {"hero": ["big", "small"], "cta": ["green", "blue"]},
            "exclude": [{"hero": "small", "cta": "blue"}],
            "default_arm": "hero=small,cta=green",
        },
    )
    assert response.status_code == 201
    assert [a["id"] for a in response.json()["arms"]] == [
        "hero=big,cta=green",
        "hero=big,cta=blue",
        "hero=small,cta=green",
    ]


def test_list_experiments(client: TestClient) -> None:
    client.put("/v1/experiments/a-test", json=experiment_body())
    assert [e["id"] for e in client.get("/v1/experiments").json()] == ["a-test", "home"]


def test_unknown_experiment_is_404_problem(client: TestClient) -> None:
    response = client.get("/v1/experiments/nope")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "urn:mvt:problem:not-found",
        "title": "Not Found",
        "status": 404,
        "detail": "experiment `nope` does not exist",
    }


def test_a_replaced_experiment_is_served_at_once(client: TestClient) -> None:
    client.put("/v1/experiments/x", json=experiment_body())
    client.put("/v1/experiments/x", json={"arms": [{"id": "only"}]})
    response = client.post("/v1/decisions", json={"experiment": "x"})
    assert response.json()["action"] == "only"
