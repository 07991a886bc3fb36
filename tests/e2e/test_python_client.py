"""The Python client for back ends: a decision, its reward and activation reach the log; every
call is retried with the same ids, so a retry never decides or rewards twice; a service that
cannot answer gives the default layout when one is named."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mvt_service.client import ApiError, Client
from store.repositories import Backend
from tests.factories import THREE_ARMS
from tests.helpers import eventually, is_activated


def test_a_decision_and_its_reward_reach_the_log(live_server: str, shared_backend: Backend) -> None:
    with Client(live_server) as mvt:
        mvt._connection.json("PUT", "/v1/experiments/exp", THREE_ARMS)
        decision = mvt.decide("exp", {"device": "mobile"}, defer_activation=True)
        assert decision.action in {a["id"] for a in THREE_ARMS["arms"]} and not decision.fallback
        mvt.reward(decision.event_id, 49.9)
        mvt.reward(decision.event_id, 49.9)  # the same reward again: stored once
        mvt.activate(decision.event_id)
        again = mvt.decide("exp", {"device": "mobile"}, event_id=decision.event_id)
        assert again == decision  # a retry with the id gets the first answer
    store = shared_backend.store()
    eventually(lambda: len(store.events.rewards_of(decision.event_id)) == 1, 5)
    assert store.events.get_decision(decision.event_id).probability == decision.probability
    assert is_activated(store, decision.event_id)


def test_a_4xx_is_raised_with_the_services_detail_and_not_retried(live_server: str) -> None:
    slept: list[float] = []
    with Client(live_server, sleep=slept.append) as mvt, pytest.raises(ApiError) as raised:
        mvt.decide("no-such-experiment")
    assert raised.value.status == 404 and "no-such-experiment" in raised.value.detail
    assert slept == []


class Flaky:
    """A connection answering 503 ``failures`` times, then 200; it records every body."""

    def __init__(self, failures: int) -> None:
        self.failures, self.bodies = failures, []

    def json(self, method: str, path: str, body: Any = None) -> Any:
        self.bodies.append(json.dumps(body))
        if len(self.bodies) <= self.failures:
            raise ApiError(503, "the log is backed up")
        return {"action": "a", "event_id": body["event_id"], "probability": 0.5, "policy_version": 0, "explored": False}


def test_a_decision_is_retried_with_backoff_and_the_same_event_id() -> None:
    slept: list[float] = []
    mvt = Client("http://127.0.0.1:9", attempts=3, backoff=0.1, sleep=slept.append)
    mvt._connection = Flaky(failures=2)  # type: ignore[assignment]
    decision = mvt.decide("exp")
    assert decision.action == "a" and slept == [0.1, 0.2]
    assert len(set(mvt._connection.bodies)) == 1  # type: ignore[attr-defined]


def test_after_the_last_attempt_the_error_is_raised_or_the_default_served() -> None:
    mvt = Client("http://127.0.0.1:9", attempts=2, sleep=lambda _: None)
    mvt._connection = Flaky(failures=5)  # type: ignore[assignment]
    with pytest.raises(ApiError, match="503"):
        mvt.decide("exp")
    fallback = mvt.decide("exp", default="hero=big")
    assert (fallback.action, fallback.event_id, fallback.fallback) == ("hero=big", None, True)


def test_an_unreachable_service_gives_the_default() -> None:
    mvt = Client("http://127.0.0.1:9", timeout=0.5, attempts=1)  # port 9: discard, nothing listens
    assert mvt.decide("exp", default="control").fallback
    with pytest.raises(ApiError) as raised:
        mvt.reward("e-1", 1.0)
    assert raised.value.status == 0 and "cannot reach" in raised.value.detail


def test_a_url_that_is_not_one_is_refused() -> None:
    with pytest.raises(ValueError, match="not an http"):
        Client("ftp://example.com")
