"""Sticky visitors: within the experiment's ``sticky_seconds`` a visitor gets its decision back,
logged once, on any worker and after a restart; rewards attach to it; then it expires."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mvt_service.app import create_app
from mvt_service.settings import Settings
from policy.records import utcnow
from store.repositories import Backend
from tests.factories import THREE_ARMS
from tests.helpers import TickingClock, both_decision_paths, decisions_of, eventually, services_of, stored_ids

STICKY = {**THREE_ARMS, "sticky_seconds": 1800, "exploration": {"epsilon": 1.0}}


def now_clock() -> TickingClock:
    """A clock that starts now: the store's TTL index removes expired visits by the wall clock
    (MongoDB's and the embedded store's alike), so a visit stamped by a clock in the past would
    vanish at once. Expiry itself is judged by the app's clock, tested below."""
    return TickingClock(start=utcnow())


def decide(client: TestClient, visitor: str | None, **extra: Any) -> dict[str, Any]:
    answer = client.post("/v1/decisions", json={"experiment": "exp", "visitor": visitor, **extra})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def logged(backend: Backend, decisions: list[dict[str, Any]]) -> int:
    return len(stored_ids(backend.store(), [d["event_id"] for d in decisions]))


@both_decision_paths
def test_a_visitor_gets_its_decision_back_on_every_worker_and_after_a_restart(
    shared_backend: Backend, settings: Settings, fast_path: bool
) -> None:
    clock = now_clock()
    with (
        TestClient(create_app(settings, backend=shared_backend, clock=clock, fast_path=fast_path)) as one,
        TestClient(create_app(settings, backend=shared_backend, clock=clock, fast_path=fast_path)) as two,
    ):
        one.put("/v1/experiments/exp", json=STICKY)
        first = decide(one, "visitor-1")
        eventually(lambda: two.get("/v1/experiments/exp").json()["sticky_seconds"] == 1800, 2)
        again = [decide(one, "visitor-1"), decide(two, "visitor-1")]
        assert again == [first, first]
        # other visitors and requests without a visitor are decided anew (epsilon 1: 1 in 3 alike)
        others = [decide(one, f"visitor-{i}")["event_id"] for i in range(2, 12)] + [decide(one, None)["event_id"]]
        assert first["event_id"] not in others and len(set(others)) == len(others)
        eventually(lambda: logged(shared_backend, [first]) == 1, 5, "the decision was not logged")
    with TestClient(create_app(settings, backend=shared_backend, clock=clock, fast_path=fast_path)) as restarted:
        assert decide(restarted, "visitor-1") == first
        assert restarted.post("/v1/rewards", json={"event_id": first["event_id"], "reward": 1}).status_code == 202
    stored = [d.event_id for d in decisions_of(shared_backend.store())]
    assert stored.count(first["event_id"]) == 1


@pytest.fixture
def clock() -> TickingClock:
    """Overrides the suite's clock for the ``client`` fixture (see :func:`now_clock`)."""
    return now_clock()


@both_decision_paths
def test_a_kept_decision_expires_after_sticky_seconds(client: TestClient, clock: TickingClock) -> None:
    client.put("/v1/experiments/exp", json=STICKY)
    first = decide(client, "v")
    clock.advance(1799)
    assert decide(client, "v") == first
    clock.advance(2)
    later = decide(client, "v")
    assert later["event_id"] != first["event_id"]
    assert decide(client, "v") == later


@both_decision_paths
def test_without_sticky_seconds_a_visitor_is_decided_anew(client: TestClient) -> None:
    client.put("/v1/experiments/exp", json=THREE_ARMS)
    assert len({decide(client, "v")["event_id"] for _ in range(5)}) == 5


@both_decision_paths
def test_a_kept_arm_that_is_no_longer_eligible_gets_a_new_decision(client: TestClient) -> None:
    client.put("/v1/experiments/exp", json=STICKY)
    first = decide(client, "v")
    others = [a["id"] for a in THREE_ARMS["arms"] if a["id"] != first["action"]]
    narrowed = decide(client, "v", actions=others)
    assert narrowed["action"] in others and narrowed["event_id"] != first["event_id"]
    assert decide(client, "v") == narrowed  # the new decision is the one kept


def test_parallel_requests_of_one_visitor_on_two_workers_agree_on_one_decision(
    shared_backend: Backend, settings: Settings
) -> None:
    clock = now_clock()
    one, two = (
        create_app(settings, backend=shared_backend, clock=clock),
        create_app(settings, backend=shared_backend, clock=clock),
    )
    with TestClient(one) as a, TestClient(two) as b:
        a.put("/v1/experiments/exp", json=STICKY)
        eventually(lambda: b.get("/v1/experiments/exp").json()["sticky_seconds"] == 1800, 2)
        runtimes = [services_of(a).runtime, services_of(b).runtime]

        async def race() -> list[Any]:
            return await asyncio.gather(*(runtimes[i % 2].decide("exp", {}, visitor="racer") for i in range(20)))

        answers = asyncio.run(race())
        assert len({d.event_id for d in answers}) == 1
        eventually(lambda: len(decisions_of(shared_backend.store())) == 1, 5)


@both_decision_paths
@pytest.mark.parametrize("visitor", ["", "x" * 257, "tab\tin it"])
def test_a_visitor_id_that_is_not_one_is_422(client: TestClient, visitor: str) -> None:
    client.put("/v1/experiments/exp", json=STICKY)
    answer = client.post("/v1/decisions", json={"experiment": "exp", "visitor": visitor})
    assert answer.status_code == 422 and "visitor" in answer.json()["detail"]


def test_sticky_seconds_out_of_range_is_422(client: TestClient) -> None:
    answer = client.put("/v1/experiments/exp", json={**THREE_ARMS, "sticky_seconds": 31 * 86400})
    assert answer.status_code == 422 and "sticky_seconds" in answer.json()["detail"]
