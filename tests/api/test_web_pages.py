"""What a web page on another origin needs: CORS on the client endpoints only, rewards and
activations by beacon (a text/plain body, the client key in the query), and nothing more."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mvt_service.app import create_app
from mvt_service.settings import Settings
from tests.factories import THREE_ARMS
from tests.helpers import TickingClock, eventually, services_of

SHOP = "https://shop.example"
CLIENT, OPERATOR = "client-key-1", "operator-key-1"


@pytest.fixture
def web(settings: Settings, clock: TickingClock) -> Iterator[TestClient]:
    configured = settings.model_copy(
        update={"cors_origins": f"{SHOP},http://localhost:8080", "client_keys": CLIENT, "operator_keys": OPERATOR}
    )
    with TestClient(create_app(configured, clock=clock)) as client:
        client.headers["authorization"] = f"Bearer {OPERATOR}"
        assert client.put("/v1/experiments/exp", json=THREE_ARMS).status_code == 201
        del client.headers["authorization"]
        yield client


def preflight(client: TestClient, path: str, origin: str = SHOP) -> Any:
    return client.options(
        path,
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization,content-type",
        },
    )


@pytest.mark.parametrize("path", ["/v1/decisions", "/v1/rewards", "/v1/decisions/e-1/activate", "/v1/client.js"])
def test_a_preflight_from_an_allowed_origin_is_answered_on_the_client_endpoints(web: TestClient, path: str) -> None:
    answer = preflight(web, path)
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == SHOP
    assert "authorization" in answer.headers["access-control-allow-headers"].lower()


@pytest.mark.parametrize("path", ["/v1/experiments/exp", "/v1/experiments/exp/train", "/v1/audit"])
def test_operator_endpoints_answer_no_preflight(web: TestClient, path: str) -> None:
    answer = preflight(web, path)
    assert answer.status_code == 405
    assert "access-control-allow-origin" not in answer.headers


def test_an_origin_not_listed_is_not_allowed(web: TestClient) -> None:
    assert preflight(web, "/v1/decisions", "https://evil.example").status_code == 400
    answer = web.post(
        "/v1/decisions",
        json={"experiment": "exp"},
        headers={"origin": "https://evil.example", "authorization": f"Bearer {CLIENT}"},
    )
    assert answer.status_code == 200 and "access-control-allow-origin" not in answer.headers


def test_errors_carry_the_cors_headers_so_the_page_can_read_them(web: TestClient) -> None:
    answer = web.post("/v1/decisions", json={"experiment": "exp"}, headers={"origin": SHOP})
    assert answer.status_code == 401
    assert answer.headers["access-control-allow-origin"] == SHOP


def test_without_configured_origins_nothing_is_cross_origin(client: TestClient) -> None:
    assert preflight(client, "/v1/decisions").status_code == 405


def test_a_beacon_reward_is_text_plain_with_the_key_in_the_query(web: TestClient) -> None:
    decision = web.post("/v1/decisions", json={"experiment": "exp"}, headers={"authorization": f"Bearer {CLIENT}"})
    event_id = decision.json()["event_id"]
    body = f'{{"event_id": "{event_id}", "reward": 1.5}}'
    answer = web.post(
        f"/v1/rewards?key={CLIENT}", content=body, headers={"content-type": "text/plain;charset=UTF-8", "origin": SHOP}
    )
    assert (answer.status_code, answer.json()) == (202, {"accepted": 1})
    activated = web.post(f"/v1/decisions/{event_id}/activate?key={CLIENT}", headers={"content-type": "text/plain"})
    assert activated.status_code == 202
    events = services_of(web).store.events
    eventually(lambda: len(events.rewards_of(event_id)) == 1, 5, "the beacon's reward was not stored")


@pytest.mark.parametrize(
    ("body", "field"),
    [('{"event_id": "e-1", "reward": "lots"}', "reward"), ('{"event_id": "e-1", "reward": NaN}', "body")],
)
def test_a_text_plain_body_is_validated_as_json_is(web: TestClient, body: str, field: str) -> None:
    answer = web.post(f"/v1/rewards?key={CLIENT}", content=body, headers={"content-type": "text/plain"})
    assert answer.status_code == 422 and field in answer.json()["detail"]


def test_a_too_large_text_plain_body_is_413(web: TestClient) -> None:
    body = "[" + ",".join(['{"event_id": "e-1", "reward": 1}'] * 10_000) + "]"
    answer = web.post(f"/v1/rewards?key={CLIENT}", content=body, headers={"content-type": "text/plain"})
    assert answer.status_code == 413


def test_text_plain_is_refused_where_beacons_are_not_expected(web: TestClient) -> None:
    answer = web.post(
        "/v1/decisions",
        content='{"experiment": "exp"}',
        headers={"content-type": "text/plain", "authorization": f"Bearer {CLIENT}"},
    )
    assert answer.status_code == 422


@pytest.mark.parametrize(("key", "status"), [(OPERATOR, 401), ("nonsense", 401)])
def test_only_a_client_key_is_taken_from_the_query(web: TestClient, key: str, status: int) -> None:
    answer = web.post(f"/v1/rewards?key={key}", json={"event_id": "e-1", "reward": 1})
    assert answer.status_code == status
    assert "operator keys: header only" in answer.json()["detail"]
    assert web.get(f"/v1/experiments/exp?key={CLIENT}").status_code == 403  # a client key is only a client's


def test_an_origin_that_is_not_one_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="MVT_CORS_ORIGINS"):
        Settings(_env_file=None, cors_origins="shop.example/path")
