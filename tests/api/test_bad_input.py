"""Every kind of bad input gets a 4xx problem naming the field, and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import experiment_body
from tests.helpers import all_decisions, both_decision_paths, services_of

pytestmark = both_decision_paths

DECISION_CASES = [
    ({"experiment": "nope"}, 404, "experiment `nope` does not exist"),
    (
        {"experiment": "home", "actions": ["hero=big,cta=pink,headline=value"]},
        422,
        "actions: unknown arm `hero=big,cta=pink",
    ),
    (
        {"experiment": "home", "actions": ["hero=big,cta=green,headline=value"] * 2},
        422,
        "actions: an arm is listed twice",
    ),
    ({"experiment": "home", "actions": []}, 422, "actions: List should have at least 1 item"),
    ({}, 422, "experiment: Field required"),
    ({"experiment": 7}, 422, "experiment: Input should be a valid string"),
    ({"experiment": "home", "context": ["device", "mobile"]}, 422, "context: must be an object of features, got array"),
    (
        {"experiment": "home", "context": {"device": {"os": "ios"}}},
        422,
        "context: `device` must be a string, number or boolean, got object",
    ),
    (
        {"experiment": "home", "context": {"tags": ["a", "b"]}},
        422,
        "context: `tags` must be a string, number or boolean, got array",
    ),
    (
        {"experiment": "home", "context": {"geo": None}},
        422,
        "context: `geo` must be a string, number or boolean, got null",
    ),
    ({"experiment": "home", "context": {"n": 2**60}}, 422, "context: `n` must be a finite number within ±1e+15"),
    ({"experiment": "home", "context": {"x": -1e39}}, 422, "context: `x` must be a finite number within ±1e+15"),
    ({"experiment": "home", "context": {"x": "v" * 1025}}, 422, "context: `x` must have 0-1024 characters"),
    ({"experiment": "home", "context": {f"f{i}": 1 for i in range(101)}}, 422, "context: at most 100 features"),
    ({"experiment": "home", "explore": "false"}, 422, "explore: Input should be a valid boolean"),
    ({"experiment": "home", "event_id": "has space"}, 422, "event_id: String should match pattern"),
    ({"experiment": "home", "colour": "red"}, 422, "colour: Extra inputs are not permitted"),
]


@pytest.mark.parametrize(("body", "status", "detail"), DECISION_CASES)
def test_bad_decision_requests(client: TestClient, body: dict, status: int, detail: str) -> None:
    response = client.post("/v1/decisions", json=body)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"].startswith(detail), response.json()
    services_of(client).writer.close()  # drain: nothing may have been queued
    assert all_decisions(services_of(client).store) == []


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_finite_context_numbers(client: TestClient, literal: bytes) -> None:
    body = b'{"experiment": "home", "context": {"x": ' + literal + b"}}"
    response = client.post("/v1/decisions", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("body: not valid JSON")


EXPERIMENT_CASES = [
    ({"arms": []}, "arms: List should have at least 1 item"),
    ({"arms": [{"id": "a"}], "factors": {"x": ["1"]}}, "give exactly one of `arms` and `factors`"),
    ({"exploration": {"epsilon": 0.2}}, "give exactly one of `arms` and `factors`"),
    (experiment_body(exploration={"epsilon": 1.5}), "exploration.epsilon: Input should be less than or equal to 1"),
    (experiment_body(exploration={"epsilon": -0.1}), "exploration.epsilon: Input should be greater than or equal to 0"),
    (experiment_body(exploration={"epsilon": "0.2"}), "exploration.epsilon: Input should be a valid number"),
    (
        experiment_body(exploration={"candidate_share": 2}),
        "exploration.candidate_share: Input should be less than or equal to 1",
    ),
    (experiment_body(default_arm="z"), "`default_arm` must be one of the arms"),
    (experiment_body(arms=[{"id": "a"}, {"id": "a"}]), "`arms` lists an arm id twice"),
    (experiment_body(arms=[{"id": ""}]), "arms.0.id: String should have at least 1 character"),
    (experiment_body(arms=[{"id": "a", "features": {"arm": "x"}}]), "arm `a`: feature name `arm` is reserved"),
    (experiment_body(reward={"window_seconds": 0}), "reward.window_seconds: Input should be greater than 0"),
    (experiment_body(reward={"aggregate": "median"}), "reward.aggregate: Input should be"),
    (experiment_body(reward={"default": "NaN"}), "reward.default: Input should be a valid number"),
    ({"factors": {"hero": ["big", "big"]}}, "`factors.hero` lists a level twice"),
    ({"factors": {"hero": ["a=b"]}}, "factors.hero.0: String should match pattern"),
    ({"factors": {"hero": ["big"]}, "exclude": [{"cta": "red"}]}, "`exclude[0]` names unknown factor `cta`"),
    ({"factors": {f"f{i}": ["a", "b"] for i in range(10)}}, "`factors` give 1024 combinations"),
    (experiment_body(owner="me"), "owner: Extra inputs are not permitted"),
]


@pytest.mark.parametrize(("body", "detail"), EXPERIMENT_CASES)
def test_bad_experiments(client: TestClient, body: dict, detail: str) -> None:
    response = client.put("/v1/experiments/bad", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"].startswith(detail), response.json()
    assert client.get("/v1/experiments/bad").status_code == 404


def test_bad_experiment_id(client: TestClient) -> None:
    response = client.put("/v1/experiments/bad%20id", json=experiment_body())
    assert response.status_code == 422
    assert response.json()["detail"].startswith("path.experiment_id: String should match pattern")


REWARD_CASES: list[tuple[Any, str]] = [
    ({"event_id": "e1", "reward": "nan"}, "0.reward: Input should be a valid number"),
    ({"event_id": "e1", "reward": "inf"}, "0.reward: Input should be a valid number"),
    ({"event_id": "e1", "reward": "1.5"}, "0.reward: Input should be a valid number"),
    ({"event_id": "e1", "reward": 1e300}, "0.reward: Input should be less than or equal to"),
    ({"event_id": "e1"}, "0.reward: Field required"),
    ({"reward": 1.0}, "0.event_id: Field required"),
    ({"event_id": "e1", "reward": 1.0, "extra": 1}, "0.extra: Extra inputs are not permitted"),
    ([], "body: Value should have at least 1 item"),
    ([{"event_id": f"e{i}", "reward": 1.0} for i in range(1001)], "body: Value should have at most 1000 items"),
    ("just a string", "body: Input should be a valid list"),
]


@pytest.mark.parametrize(("body", "detail"), REWARD_CASES)
def test_bad_rewards(client: TestClient, body: Any, detail: str) -> None:
    response = client.post("/v1/rewards", json=body)
    assert response.status_code == 422
    assert response.json()["detail"].startswith(detail), response.json()
    assert not services_of(client).store.events.reward_ids()


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_finite_reward_literals(client: TestClient, literal: bytes) -> None:
    body = b'{"event_id": "e1", "reward": ' + literal + b"}"
    response = client.post("/v1/rewards", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("body: not valid JSON at character")  # NaN is not JSON
    assert not services_of(client).store.events.reward_ids()


def test_malformed_json(client: TestClient) -> None:
    response = client.post("/v1/rewards", content=b'{"event_id": "e1", ', headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_body_over_the_limit_is_413(client: TestClient) -> None:
    big = [{"event_id": f"event-{i:06d}", "reward": 1.0, "reward_id": "x" * 100} for i in range(2000)]
    response = client.post("/v1/rewards", json=big)
    assert response.status_code == 413
    assert response.json()["detail"] == "request body exceeds 262144 bytes"
    assert not services_of(client).store.events.reward_ids()


def test_streamed_body_over_the_limit_is_413(client: TestClient) -> None:
    def chunks():
        yield b'{"event_id": "e1", "reward": 1.0, "pad": "'
        for _ in range(300):
            yield b"x" * 1024
        yield b'"}'

    response = client.post("/v1/rewards", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_unknown_route_and_method_are_problems(client: TestClient) -> None:
    assert client.get("/v1/nothing").status_code == 404
    response = client.delete("/v1/rewards")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"


def test_vw_syntax_in_context_is_served_and_logged_verbatim(client: TestClient) -> None:
    context = {"dev|ice": "mo bile:1 |A arm=hero=big", "q\nx": "a\tb", "50%": 0.5}
    response = client.post("/v1/decisions", json={"experiment": "home", "context": context, "event_id": "hostile"})
    assert response.status_code == 200
    services_of(client).writer.close()  # drain
    stored = services_of(client).store.events.get_decision("hostile")
    assert stored is not None and dict(stored.context) == context
