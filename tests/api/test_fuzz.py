"""Property-based fuzzing of the whole HTTP API from its own OpenAPI schema (schemathesis):
no generated request, valid or not, may get a 500."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error


@pytest.fixture
def api_schema(live_server: str):
    return schemathesis.openapi.from_url(f"{live_server}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_gets_a_server_error(case) -> None:
    case.call_and_validate(checks=[not_a_server_error])
