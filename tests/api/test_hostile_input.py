"""Nothing a client or an operator sends, and no fault of the store or the disk, stops the service
from logging: each case gets its 4xx with the field named, or its documented fallback, and then
every later decision and reward is stored (counted in the store)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mvt_service.log_writer import LogWriter
from store.errors import StoreUnavailable
from store.repositories import Store
from tests import factories
from tests.helpers import both_decision_paths, eventually, services_of, stored_ids

pytestmark = both_decision_paths

DECISIONS = "/v1/decisions"


def raw(client: TestClient, method: str, path: str, body: str) -> Any:
    """Send ``body`` as it is: JSON escapes such as a lone surrogate reach the parser."""
    return client.request(method, path, content=body.encode(), headers={"content-type": "application/json"})


def experiment(**overrides: Any) -> dict[str, Any]:
    return factories.experiment_body(**overrides)


# (name, request maker, expected status, start of the detail)
REQUESTS: list[tuple[str, Callable[[TestClient], Any], int, str]] = [
    (
        "lone surrogate in a context value",
        lambda c: raw(c, "POST", DECISIONS, '{"experiment": "home", "context": {"device": "mob\\ud800"}}'),
        422,
        "body: not valid JSON at character",
    ),
    (
        "lone surrogate in a context name",
        lambda c: raw(c, "POST", DECISIONS, '{"experiment": "home", "context": {"\\udfffx": 1}}'),
        422,
        "body: not valid JSON at character",
    ),
    (
        "client event id with an invalid string",
        lambda c: raw(c, "POST", DECISIONS, '{"experiment": "home", "event_id": "e1", "context": {"a": "\\ud800"}}'),
        422,
        "body: not valid JSON at character",
    ),
    (
        "number beyond VW's 32-bit floats",
        lambda c: c.post(DECISIONS, json={"experiment": "home", "context": {"x": 1e39}}),
        422,
        "context: `x` must be a finite number within ±1e+15",
    ),
    (
        "integer beyond BSON's 64 bits",
        lambda c: c.post(DECISIONS, json={"experiment": "home", "context": {"n": 10**30}}),
        422,
        "context: `n` must be a finite number within ±1e+15",
    ),
    (
        "number that overflows a double",
        lambda c: raw(c, "POST", DECISIONS, '{"experiment": "home", "context": {"x": 1e400}}'),
        422,
        "body: not valid JSON at character",
    ),
    (
        "reward beyond its bound",
        lambda c: c.post("/v1/rewards", json={"event_id": "e1", "reward": 1e39}),
        422,
        "0.reward: Input should be less than or equal to 1000000000000",
    ),
    (
        "event id with URL syntax",
        lambda c: c.post("/v1/rewards", json={"event_id": "a/../b?c#d", "reward": 1.0}),
        422,
        "0.event_id: String should match pattern",
    ),
    (
        "training.min_events past BSON's integers",
        lambda c: c.put("/v1/experiments/x", json=experiment(training={"min_events": 10**30})),
        422,
        "training.min_events: Input should be a valid integer",
    ),
    (
        "training.min_events past its bound",
        lambda c: c.put("/v1/experiments/x", json=experiment(training={"min_events": 10**12})),
        422,
        "`training.min_events` must be an integer in [1, 1,000,000,000]",
    ),
    (
        "training.interval_seconds past what a date can hold",
        lambda c: c.put("/v1/experiments/x", json=experiment(training={"interval_seconds": 10**14})),
        422,
        "`training.interval_seconds` must be an integer in [1, 31,622,400]",
    ),
    (
        "reward.default past VW's floats",
        lambda c: c.put("/v1/experiments/x", json=experiment(reward={"default": 1e308})),
        422,
        "`reward.default` must be in [-1e+12, 1e+12]",
    ),
    (
        "arm id that HTTP clients resolve as a path segment",
        lambda c: c.put("/v1/experiments/x", json=experiment(arms=[{"id": ".."}, {"id": "b"}])),
        422,
        "an arm id must be printable text other than '.' and '..'",
    ),
    (
        "arm feature beyond VW's floats",
        lambda c: c.put("/v1/experiments/x", json=experiment(arms=[{"id": "a", "features": {"p": -1e39}}])),
        422,
        "arms.0.features: `p` must be a finite number within ±1e+15",
    ),
    (
        "learning rate that overflows a double",
        lambda c: raw(c, "PUT", "/v1/experiments/x", '{"arms": [{"id": "a"}], "training": {"vw": {"l2": 1e999}}}'),
        422,
        "body: not valid JSON at character",
    ),
    (
        "arm id with a slash, switched off by its kill switch",
        lambda c: (
            c.put("/v1/experiments/slash", json=experiment(arms=[{"id": "a"}, {"id": "50/50"}])),
            c.patch("/v1/experiments/slash/arms/50%2F50", json={"enabled": False}),
        )[1],
        200,
        "",
    ),
]


def store_down(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """MongoDB refuses every write for a while: what is logged meanwhile is spooled."""
    store = services_of(client).store

    def unavailable(*args: object, **kwargs: object) -> Any:
        raise StoreUnavailable("connection refused")

    monkeypatch.setattr(store.events, "insert_decisions", unavailable)
    spooled = log_traffic(client, 5)
    eventually(lambda: services_of(client).writer.spool_bytes > 0, message="nothing was spooled")
    monkeypatch.undo()
    wait_stored(store, spooled)  # replayed once the store takes writes again


def disk_full(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The store is down and the disk under the spool is full: the batch is lost, counted, and
    logging goes on once either recovers."""
    services = services_of(client)
    writer: LogWriter = services.writer

    def unavailable(*args: object, **kwargs: object) -> Any:
        raise StoreUnavailable("connection refused")

    def no_space(data: bytes) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(services.store.events, "insert_decisions", unavailable)
    monkeypatch.setattr(writer._spool._file, "write", no_space)
    log_traffic(client, 3)
    eventually(lambda: writer.pending == 0)
    assert writer.alive
    monkeypatch.undo()


def writer_killed(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer thread dies: /readyz says so, and the worker starts a new one."""
    writer = services_of(client).writer
    write = writer._write_queued

    def die() -> bool:
        monkeypatch.setattr(writer, "_write_queued", write)
        raise SystemExit("killed")

    monkeypatch.setattr(writer, "_write_queued", die)
    queued = log_traffic(client, 2)
    eventually(lambda: not writer.alive)
    assert client.get("/readyz").status_code == 503  # and it restarts the thread
    wait_stored(services_of(client).store, queued)


def poisoned_record(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """A record that slipped past validation and that the store cannot encode is quarantined;
    the rest of its batch, and everything after, is written."""
    writer = services_of(client).writer
    writer.log_decision(factories.decision(experiment="home", event_id="poison", context={"d": "\ud800"}))
    batch = log_traffic(client, 3)
    wait_stored(services_of(client).store, batch)
    assert services_of(client).store.events.get_decision("poison") is None


FAULTS = [store_down, disk_full, writer_killed, poisoned_record]


def log_traffic(client: TestClient, n: int) -> list[str]:
    """``n`` decisions with a reward each, through the API; their event ids."""
    ids = []
    for _ in range(n):
        answer = client.post(DECISIONS, json={"experiment": "home", "context": {"device": "mobile"}})
        assert answer.status_code == 200, answer.text
        ids.append(answer.json()["event_id"])
    assert client.post("/v1/rewards", json=[{"event_id": i, "reward": 1.0} for i in ids]).status_code == 202
    return ids


def wait_stored(store: Store, event_ids: list[str]) -> None:
    rewards = {(i, "default") for i in event_ids}
    eventually(
        lambda: stored_ids(store, event_ids) == event_ids and rewards <= store.events.reward_ids(),
        timeout=15,
        message="the service stopped logging",
    )


def assert_still_logs(client: TestClient) -> None:
    """Every decision and reward after the case reaches the store."""
    wait_stored(services_of(client).store, log_traffic(client, 20))
    assert services_of(client).writer.alive


@pytest.mark.parametrize(("name", "send", "status", "detail"), REQUESTS, ids=[r[0] for r in REQUESTS])
def test_a_hostile_request_is_answered_and_logging_goes_on(
    client: TestClient, name: str, send: Callable[[TestClient], Any], status: int, detail: str
) -> None:
    response = send(client)
    assert response.status_code == status, response.text
    if status >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"].startswith(detail), response.json()
    assert_still_logs(client)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the killed writer
@pytest.mark.parametrize("fault", FAULTS, ids=[f.__name__ for f in FAULTS])
def test_after_a_fault_logging_goes_on(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, fault: Callable[[TestClient, pytest.MonkeyPatch], None]
) -> None:
    fault(client, monkeypatch)
    assert_still_logs(client)


def test_nothing_was_lost_from_a_burst_of_parallel_writes_after_the_faults(client: TestClient) -> None:
    """The same check on a larger burst: every decision answered is stored exactly once."""
    own = uuid.uuid4().hex  # a client event id: written before it is answered
    assert client.post(DECISIONS, json={"experiment": "home", "event_id": own}).status_code == 200
    wait_stored(services_of(client).store, log_traffic(client, 200))
    assert services_of(client).store.events.get_decision(own) is not None
    assert json.loads(client.get("/readyz").text)["status"] == "ready"
