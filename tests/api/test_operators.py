"""Operator controls: roles, refusal to run open, exploration, pause, arms, holdout, audit and
conditional edits."""

from __future__ import annotations

import functools
import http.client
import json
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from mvt_service import cli
from mvt_service.app import create_app
from mvt_service.auth import KeyRing, Principal, key_id
from mvt_service.settings import Settings
from store.repositories import Backend
from tests.helpers import eventually, services_of

CLIENT, OPERATOR = "client-secret-1", "operator-secret-1"
AUTH = {
    "client": {"authorization": f"Bearer {CLIENT}"},
    "operator": {"authorization": f"Bearer {OPERATOR}"},
    "wrong": {"authorization": "Bearer not-a-key"},
    "none": {},
}
ABC = {"arms": [{"id": "a"}, {"id": "b"}, {"id": "c"}], "exploration": {"epsilon": 0.2}}


@pytest.fixture
def keyed(settings: Settings) -> Iterator[TestClient]:
    keyed_settings = settings.model_copy(update={"client_keys": CLIENT, "operator_keys": f"{OPERATOR}, other-op"})
    with TestClient(create_app(keyed_settings)) as client:
        client.put("/v1/experiments/abc", json=ABC, headers=AUTH["operator"])
        yield client


ENDPOINTS = [
    ("POST", "/v1/decisions", {"experiment": "abc"}, "client"),
    ("POST", "/v1/decisions/e1/activate", None, "client"),
    ("POST", "/v1/rewards", {"event_id": "e1", "reward": 1.0}, "client"),
    ("GET", "/v1/experiments", None, "operator"),
    ("GET", "/v1/experiments/abc", None, "operator"),
    ("PUT", "/v1/experiments/abc", ABC, "operator"),
    ("PATCH", "/v1/experiments/abc/exploration", {"epsilon": 0.1}, "operator"),
    ("POST", "/v1/experiments/abc/pause", None, "operator"),
    ("POST", "/v1/experiments/abc/resume", None, "operator"),
    ("PATCH", "/v1/experiments/abc/arms/b", {"enabled": True}, "operator"),
    ("GET", "/v1/experiments/abc/policies", None, "operator"),
    ("POST", "/v1/experiments/abc/policies/1/activate", None, "operator"),
    ("POST", "/v1/experiments/abc/train", None, "operator"),
    ("POST", "/v1/experiments/abc/search", None, "operator"),
    ("GET", "/v1/experiments/abc/reports", None, "operator"),
    ("GET", "/v1/experiments/abc/reports/latest", None, "operator"),
    ("GET", "/v1/experiments/abc/export", None, "operator"),
    ("GET", "/v1/audit", None, "operator"),
    ("GET", "/metrics", None, "operator"),
]


@pytest.mark.parametrize(("method", "path", "body", "needs"), ENDPOINTS)
@pytest.mark.parametrize("caller", ["none", "wrong", "client", "operator"])
def test_role_matrix(keyed: TestClient, method: str, path: str, body: dict | None, needs: str, caller: str) -> None:
    response = keyed.request(method, path, json=body, headers=AUTH[caller])
    if caller in ("none", "wrong"):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
    elif caller == "client" and needs == "operator":
        assert response.status_code == 403
        assert response.json()["detail"] == "this needs the `operator` role; the key has `client`"
    else:
        assert response.status_code not in (401, 403), response.text


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_need_no_key(keyed: TestClient, path: str) -> None:
    assert keyed.get(path).status_code == 200


def test_open_service_only_on_loopback(settings: Settings, capsys: pytest.CaptureFixture) -> None:
    cli.check_binding(settings.model_copy(update={"host": "127.0.0.1"}))
    cli.check_binding(settings.model_copy(update={"host": "::1"}))
    cli.check_binding(settings.model_copy(update={"host": "0.0.0.0", "client_keys": "c", "operator_keys": "o"}))
    for host in ("0.0.0.0", "10.1.2.3", "shop.example"):
        with pytest.raises(cli.CommandError, match=f"refusing to serve on {host} without API keys"):
            cli.check_binding(settings.model_copy(update={"host": host}))
    assert cli.main(["serve", "--host", "0.0.0.0"]) == 2
    assert "refusing to serve on 0.0.0.0" in capsys.readouterr().err


def test_several_workers_need_mongodb(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MVT_MONGO_URI", raising=False)
    assert cli.main(["serve", "--workers", "2"]) == 2
    assert "several workers need MongoDB" in capsys.readouterr().err


def test_epsilon_change_reaches_a_second_worker(shared_backend: Backend, settings: Settings) -> None:
    with (
        TestClient(create_app(settings, backend=shared_backend)) as one,
        TestClient(create_app(settings, backend=shared_backend)) as two,
    ):
        one.put("/v1/experiments/abc", json=ABC)
        two.post("/v1/decisions", json={"experiment": "abc"})  # two now serves revision 1
        assert one.patch("/v1/experiments/abc/exploration", json={"epsilon": 0.9}).json()["exploration"] == {
            "epsilon": 0.9,
            "candidate_share": 0.5,
        }
        store = shared_backend.store()
        counter = iter(range(10_000))

        def logged_epsilon() -> float:
            event_id = f"probe-{next(counter)}"
            two.post("/v1/decisions", json={"experiment": "abc", "event_id": event_id})
            return store.events.get_decision(event_id).epsilon

        eventually(lambda: logged_epsilon() == 0.9, timeout=1.0, message="worker two never saw epsilon 0.9")


def test_pause_returns_the_default_arm_with_probability_one(client: TestClient) -> None:
    client.put("/v1/experiments/abc", json={**ABC, "default_arm": "b"})
    assert client.post("/v1/experiments/abc/pause").json()["paused"] is True
    answers = [client.post("/v1/decisions", json={"experiment": "abc", "event_id": f"p{i}"}).json() for i in range(50)]
    assert {(a["action"], a["probability"], a["explored"]) for a in answers} == {("b", 1.0, False)}
    doc = services_of(client).store.events.get_decision("p0")
    assert (doc.group, doc.pmf) == ("paused", (0.0, 1.0, 0.0))
    client.post("/v1/experiments/abc/resume")
    actions = {client.post("/v1/decisions", json={"experiment": "abc"}).json()["action"] for _ in range(60)}
    assert actions == {"a", "b", "c"}


def test_a_disabled_arm_is_never_returned(client: TestClient) -> None:
    client.put("/v1/experiments/abc", json=ABC)
    body = client.patch("/v1/experiments/abc/arms/c", json={"enabled": False}).json()
    assert [a["enabled"] for a in body["arms"]] == [True, True, False]
    answers = [client.post("/v1/decisions", json={"experiment": "abc"}).json() for _ in range(500)]
    assert {a["action"] for a in answers} == {"a", "b"}
    assert {a["probability"] for a in answers} == {0.5}
    only_c = client.post("/v1/decisions", json={"experiment": "abc", "actions": ["c"]})
    assert only_c.status_code == 422 and only_c.json()["detail"] == "actions: every listed arm is disabled"
    # replacing the definition keeps the operator's decision
    assert client.put("/v1/experiments/abc", json=ABC).json()["arms"][2]["enabled"] is False
    client.patch("/v1/experiments/abc/arms/c", json={"enabled": True})
    assert "c" in {client.post("/v1/decisions", json={"experiment": "abc"}).json()["action"] for _ in range(60)}


def test_arm_errors(client: TestClient) -> None:
    client.put("/v1/experiments/abc", json=ABC)
    default = client.patch("/v1/experiments/abc/arms/a", json={"enabled": False})
    assert default.status_code == 422 and default.json()["detail"] == "the default arm `a` cannot be disabled"
    assert client.patch("/v1/experiments/abc/arms/zz", json={"enabled": False}).status_code == 404
    assert client.patch("/v1/experiments/nope/arms/a", json={"enabled": False}).status_code == 404
    assert client.patch("/v1/experiments/abc/exploration", json={"epsilon": 2}).status_code == 422


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, "give `epsilon`, `candidate_share` or both"),
        ({"epsilon": None, "candidate_share": None}, "give `epsilon`, `candidate_share` or both"),
        ({"candidate_share": 1.5}, "candidate_share: Input should be less than or equal to 1"),
        ({"candidate_share": -0.1}, "candidate_share: Input should be greater than or equal to 0"),
        ({"candidate_share": "0.5"}, "candidate_share: Input should be a valid number"),
    ],
)
def test_exploration_changes_are_checked(client: TestClient, body: dict[str, object], detail: str) -> None:
    client.put("/v1/experiments/abc", json=ABC)
    response = client.patch("/v1/experiments/abc/exploration", json=body)
    assert response.status_code == 422 and response.json()["detail"].startswith(detail)


def test_exploration_changes_only_the_settings_given(client: TestClient) -> None:
    client.put("/v1/experiments/abc", json=ABC)
    shared = client.patch("/v1/experiments/abc/exploration", json={"candidate_share": 0.25}).json()
    assert shared["exploration"] == {"epsilon": 0.2, "candidate_share": 0.25}
    narrowed = client.patch("/v1/experiments/abc/exploration", json={"epsilon": 0.1}).json()
    assert narrowed["exploration"] == {"epsilon": 0.1, "candidate_share": 0.25}
    assert narrowed["revision"] == 3


def test_holdout_sends_a_share_to_the_default_arm_with_exact_probabilities(client: TestClient) -> None:
    client.put("/v1/experiments/abc", json={**ABC, "holdout": {"fraction": 0.5}})
    for i in range(400):
        client.post("/v1/decisions", json={"experiment": "abc", "event_id": f"h{i}"})
    store = services_of(client).store
    decisions = [store.events.get_decision(f"h{i}") for i in range(400)]
    held = sum(d.group == "holdout" for d in decisions)
    assert abs(held - 200) < 50  # binomial(400, 0.5): sd 10
    # no policy yet: the bandit's pmf is uniform, so the mixture is 0.5 + 0.5/3 on a, 0.5/3 elsewhere
    assert all(d.pmf == pytest.approx((0.5 + 0.5 / 3, 0.5 / 3, 0.5 / 3)) for d in decisions)
    assert all(d.probability == d.pmf[d.actions.index(d.action)] for d in decisions)
    assert all(d.action == "a" for d in decisions if d.group == "holdout")


def test_every_change_is_audited_by_key_id(keyed: TestClient) -> None:
    op = AUTH["operator"]
    keyed.patch("/v1/experiments/abc/exploration", json={"epsilon": 0.05}, headers=op)
    keyed.post("/v1/experiments/abc/pause", headers=op)
    keyed.post("/v1/experiments/abc/resume", headers=op)
    keyed.patch("/v1/experiments/abc/arms/c", json={"enabled": False}, headers=op)
    entries = keyed.get("/v1/audit?experiment=abc", headers=op).json()
    assert [e["action"] for e in entries] == ["disable_arm", "resume", "pause", "set_exploration", "create"]
    assert {e["key_id"] for e in entries} == {key_id(OPERATOR)}
    assert OPERATOR not in str(entries)
    assert entries[3]["before"] == {"epsilon": 0.2, "candidate_share": 0.5}
    assert entries[3]["after"] == {"epsilon": 0.05, "candidate_share": 0.5}
    assert entries[0]["after"] == {"arm": "c", "enabled": False}
    assert entries[4]["before"] is None and entries[4]["after"]["id"] == "abc"


def test_stale_concurrent_edits_are_rejected(client: TestClient) -> None:
    created = client.put("/v1/experiments/abc", json=ABC)
    assert created.headers["etag"] == '"1"'
    first = client.patch("/v1/experiments/abc/exploration", json={"epsilon": 0.1}, headers={"if-match": '"1"'})
    assert first.status_code == 200 and first.headers["etag"] == '"2"'
    second = client.patch("/v1/experiments/abc/exploration", json={"epsilon": 0.3}, headers={"if-match": '"1"'})
    assert second.status_code == 412
    assert second.json()["detail"] == "experiment `abc` is no longer at revision 1: read it again"
    assert client.put("/v1/experiments/abc", json=ABC, headers={"if-match": '"1"'}).status_code == 412
    assert client.post("/v1/experiments/abc/pause", headers={"if-match": '"1"'}).status_code == 412
    assert client.get("/v1/experiments/abc").json()["exploration"]["epsilon"] == 0.1
    assert (
        client.patch("/v1/experiments/abc/arms/b", json={"enabled": False}, headers={"if-match": '"2"'}).status_code
        == 200
    )
    assert client.put("/v1/experiments/abc", json=ABC, headers={"if-match": "junk"}).status_code == 412


def _send(url: str, method: str, path: str, body: dict, headers: dict[str, str] | None = None) -> int:
    """One request on its own connection (one per thread); its status."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(method, path, json.dumps(body), {"content-type": "application/json", **(headers or {})})
        return connection.getresponse().status
    finally:
        connection.close()


def _at_once(calls: list[Callable[[], int]]) -> list[int]:
    """Run the calls in parallel threads, released together; their statuses."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], int]) -> int:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_parallel_edits_lose_nothing_and_one_revision_wins_once(live_server: str) -> None:
    arms = [{"id": f"a/{i}"} for i in range(10)]  # ids with a slash: the kill switch takes them
    assert _send(live_server, "PUT", "/v1/experiments/par", {"arms": arms, "default_arm": "a/0"}) == 201
    disables = [
        functools.partial(
            _send, live_server, "PATCH", f"/v1/experiments/par/arms/{quote(a['id'], safe='')}", {"enabled": False}
        )
        for a in arms[1:]
    ]
    assert _at_once(disables) == [200] * 9  # without If-Match every edit is made, none undone
    stored = _get(live_server, "/v1/experiments/par")
    assert [a["enabled"] for a in stored["arms"]] == [True] + [False] * 9
    revision = stored["revision"]
    same_revision = [
        functools.partial(
            _send,
            live_server,
            "PATCH",
            "/v1/experiments/par/exploration",
            {"epsilon": e / 10},
            {"if-match": f'"{revision}"'},
        )
        for e in range(8)
    ]
    assert sorted(_at_once(same_revision)) == [200] + [412] * 7


def _get(url: str, path: str) -> dict:
    with urllib.request.urlopen(url + path, timeout=30) as response:
        return json.loads(response.read())


def test_a_request_checks_its_key_once(keyed: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The route checks the key before the body is read; its dependency reuses what it found."""
    calls: list[str] = []
    identify = KeyRing.identify

    def counted(self: KeyRing, key: str) -> Principal | None:
        calls.append(key)
        return identify(self, key)

    monkeypatch.setattr(KeyRing, "identify", counted)
    assert keyed.post("/v1/decisions", json={"experiment": "abc"}, headers=AUTH["client"]).status_code == 200
    assert keyed.get("/v1/experiments/abc", headers=AUTH["operator"]).status_code == 200
    assert len(calls) == 2
