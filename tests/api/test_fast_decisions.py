"""The fast path of ``POST /v1/decisions`` answers exactly what the framework's general path
answers: the same requests, sent in the same order to two apps that differ only in the path,
get the same status, headers and body, and leave the same logged decisions.

The apps are alike in everything else (seeded sampler, keys, CORS); only the event ids the
service generates differ, so each is replaced by its order of appearance before comparing. (Their
clocks start now: the store's TTL index removes a visit by the wall clock.)
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from mvt_service.app import create_app
from mvt_service.settings import Settings
from policy.records import utcnow
from store import sqlite
from store.errors import StoreUnavailable
from tests.factories import THREE_ARMS
from tests.helpers import TickingClock, decisions_of, services_of

CLIENT, OPERATOR, SHOP = "client-key", "operator-key", "https://shop.example"
AS_CLIENT = {"authorization": f"Bearer {CLIENT}", "content-type": "application/json"}
GOOD = {"experiment": "exp", "context": {"device": "mobile", "visits": 3, "member": True}}


def post(body: Any = GOOD, **headers: str) -> dict[str, Any]:
    """A request: JSON of ``body`` (bytes as they are) with the client key, plus ``headers``
    (a header given as "" is left out)."""
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    merged = {k: v for k, v in {**AS_CLIENT, **headers}.items() if v != ""}
    return {"content": content, "headers": merged}


CASES: dict[str, dict[str, Any]] = {
    "a decision": post(),
    "a decision with CORS": post(origin=SHOP),
    "a decision from another origin": post(origin="https://elsewhere.example"),
    "with a charset": post(**{"content-type": "application/json; charset=utf-8"}),
    "an upper-case content type": post(**{"content-type": "Application/JSON"}),
    "restricted arms": post({**GOOD, "actions": ["c", "a"]}),
    "greedy": post({**GOOD, "explore": False}),
    "deferred": post({**GOOD, "defer_activation": True}),
    "a client's event id": post({**GOOD, "event_id": "page-1"}),
    "the same event id again": post({**GOOD, "event_id": "page-1"}),
    "a visitor": post({**GOOD, "visitor": "v-1"}),
    "the visitor again": post({**GOOD, "visitor": "v-1"}),
    "an empty context": post({"experiment": "exp"}),
    "a key in the URL": {**post(authorization=""), "params": {"key": CLIENT}},
    "an operator key": post(authorization=f"Bearer {OPERATOR}"),
    "no key": post(authorization=""),
    "a wrong key": post(authorization="Bearer nope"),
    "an operator key in the URL": {**post(authorization=""), "params": {"key": OPERATOR}},
    "no content type": post(**{"content-type": ""}),
    "text/plain": post(**{"content-type": "text/plain"}),
    "form data": post(b"experiment=exp", **{"content-type": "application/x-www-form-urlencoded"}),
    "an unknown experiment": post({"experiment": "nope"}),
    "an unknown arm": post({**GOOD, "actions": ["z"]}),
    "an arm twice": post({**GOOD, "actions": ["a", "a"]}),
    "an event id of another experiment": post({"experiment": "other", "event_id": "page-1"}),
    "an extra field": post({**GOOD, "colour": "red"}),
    "a wrong type": post({**GOOD, "explore": "no"}),
    "a number past float32": post({**GOOD, "context": {"x": 3.5e38}}),
    "a number past the limit": post({**GOOD, "context": {"x": 1e16}}),
    "an integer past 64 bits": post(b'{"experiment": "exp", "context": {"n": 18446744073709551616}}'),
    "NaN": post(b'{"experiment": "exp", "context": {"x": NaN}}'),
    "a lone surrogate": post(b'{"experiment": "exp", "context": {"x": "\\ud800"}}'),
    "invalid UTF-8": post(b'{"experiment": "exp", "context": {"x": "\xff"}}'),
    "not JSON": post(b"{experiment: exp}"),
    "an empty body": post(b""),
    "null": post(None),
    "a list": post([GOOD]),
    "deep nesting": post(b"[" * 10_000 + b"]" * 10_000),
    "an id with URL syntax": post({"experiment": "../exp?x=1#y"}),
    "a streamed body": {**post(), "content": (orjson.dumps(GOOD)[:10], orjson.dumps(GOOD)[10:])},
    "a streamed body over the limit": {**post(), "content": (b'{"experiment": "', b"x" * 300_000, b'"}')},
    "a declared body over the limit": post(b" " * 300_000),
    "the store down": post({**GOOD, "event_id": "page-2"}),
}
STORE_DOWN = "the store down"


def answer(client: TestClient, case: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, list, Any]:
    """Status, headers and JSON body of the answer to ``case`` (parts of a body: streamed)."""
    request = dict(CASES[case])
    if isinstance(request["content"], tuple):
        request["content"] = iter(request["content"])
    with monkeypatch.context() as patch:
        if case == STORE_DOWN:
            patch.setattr(services_of(client).store.events, "insert_decision_once", _unavailable)
        response = client.post("/v1/decisions", **request)
    return response.status_code, response.headers.multi_items(), response.json()


def _unavailable(*args: object) -> Any:
    raise StoreUnavailable("the store is down")


def masked(value: Any, ids: dict[str, str]) -> Any:
    """``value`` with every generated event id (32 hex digits) replaced by its order, and times
    left out (the clocks of the two apps are read a different number of times)."""
    if isinstance(value, dict):
        return {k: masked(v, ids) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [masked(v, ids) for v in value]
    if isinstance(value, str) and len(value) == 32 and all(c in "0123456789abcdef" for c in value):
        return ids.setdefault(value, f"<generated {len(ids)}>")
    return "<time>" if isinstance(value, datetime) else value


def test_both_paths_answer_and_log_alike(settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    keyed = settings.model_copy(update={"client_keys": CLIENT, "operator_keys": OPERATOR, "cors_origins": SHOP})
    backends = [sqlite.open_file(tmp_path / f"{path}.sqlite3") for path in ("fast", "general")]
    for backend in backends:
        backend.ensure_schema()
    ids: list[dict[str, str]] = [{}, {}]
    statuses = set()
    with ExitStack() as running:
        fast, general = (
            running.enter_context(
                TestClient(create_app(keyed, backend=b, clock=TickingClock(start=utcnow()), fast_path=f))
            )
            for b, f in zip(backends, (True, False))
        )
        for client in (fast, general):
            operator = {"authorization": f"Bearer {OPERATOR}"}
            sticky = {**THREE_ARMS, "sticky_seconds": 600}
            assert client.put("/v1/experiments/exp", json=sticky, headers=operator).status_code == 201
            assert client.put("/v1/experiments/other", json=THREE_ARMS, headers=operator).status_code == 201
        for case in CASES:
            one, other = answer(fast, case, monkeypatch), answer(general, case, monkeypatch)
            assert masked(one, ids[0]) == masked(other, ids[1]), case
            statuses.add(one[0])
    # the cases reach every kind of answer (a check of the test itself)
    assert statuses == {200, 401, 404, 409, 413, 422, 503}
    stores = [b.store() for b in backends]
    fast_decisions, general_decisions = (
        sorted(orjson.dumps(masked(asdict(d), i)) for e in ("exp", "other") for d in decisions_of(s, e))
        for s, i in zip(stores, ids)
    )
    assert fast_decisions == general_decisions and len(fast_decisions) == 14
    fast_visit, general_visit = (s.events.visit("exp", "v-1") for s in stores)
    assert fast_visit is not None and general_visit is not None
    assert masked(asdict(fast_visit), ids[0]) == masked(asdict(general_visit), ids[1])
    for backend in backends:
        backend.close()
