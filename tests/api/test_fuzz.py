"""Property-based fuzzing of the whole HTTP API from its own OpenAPI schema (schemathesis):
no generated request, valid or not, may get a 500, and after every one of them the service
still logs: a decision and its reward sent next both reach the store."""

from __future__ import annotations

import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from mvt_service.cli.common import ApiClient
from store.repositories import Backend, Store
from tests.helpers import eventually


@pytest.fixture
def api_schema(live_server: str):
    return schemathesis.openapi.from_url(f"{live_server}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_gets_a_server_error_or_stops_the_log(case, live_server: str, shared_backend: Backend) -> None:
    case.call_and_validate(checks=[not_a_server_error])
    assert_still_logs(live_server, shared_backend.store())


def assert_still_logs(url: str, store: Store) -> None:
    event_id = f"probe-{uuid.uuid4().hex}"
    api = ApiClient(url)
    try:
        api("POST", "/v1/decisions", {"experiment": "home", "event_id": event_id})
        api("POST", "/v1/rewards", {"event_id": event_id, "reward": 1.0})
    finally:
        api.close()
    assert store.events.get_decision(event_id) is not None  # a client event id is written before the answer
    eventually(lambda: (event_id, "default") in store.events.reward_ids(), message="the reward log stopped")
