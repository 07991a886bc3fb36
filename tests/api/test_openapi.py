"""The OpenAPI document is complete and right: a summary, description, errors in the shape the
API answers, security and examples the service accepts, for every operation."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from mvt_service.openapi import OPERATIONS


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    answer = client.get("/openapi.json")
    assert answer.status_code == 200
    return dict(answer.json())


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in document["paths"].items() for method, op in ops.items()]


def test_every_operation_has_a_summary_in_words_and_a_description(document: dict[str, Any]) -> None:
    summaries = {op["summary"] for _, _, op in operations(document)}
    assert summaries == {o.summary for o in OPERATIONS.values()}  # each described once, none stale
    for method, path, op in operations(document):
        assert op.get("description"), f"{method} {path}"


def test_every_error_is_documented_as_problem_json(document: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for method, path, op in operations(document):
        for status, response in op["responses"].items():
            if int(status) >= 400 and path != "/readyz":
                schema = response["content"]["application/problem+json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Problem"}, f"{method} {path} {status}"


def test_operator_and_client_endpoints_declare_the_bearer_scheme(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "`Authorization: Bearer <key>`",
    }
    public = {"/healthz", "/readyz", "/v1/client.js"}
    for method, path, op in operations(document):
        if path not in public:
            assert {"bearer": []} in op["security"], f"{method} {path}"
            assert {"401", "403"} <= set(op["responses"])
    assert {"clientKey": []} in document["paths"]["/v1/rewards"]["post"]["security"]
    assert "text/plain" in document["paths"]["/v1/rewards"]["post"]["requestBody"]["content"]


def test_every_field_and_parameter_is_described(document: dict[str, Any]) -> None:
    for name, schema in document["components"]["schemas"].items():
        for field, spec in schema.get("properties", {}).items():
            assert spec.get("description"), f"{name}.{field}"
    for method, path, op in operations(document):
        for parameter in op.get("parameters", []):
            assert parameter.get("description"), f"{method} {path} {parameter['name']}"


def test_the_examples_are_requests_the_service_accepts(client: TestClient, document: dict[str, Any]) -> None:
    """In the order a newcomer would try them, each from the document itself."""
    order = ["put", "patch", "post"]
    tried = 0
    for method, path, op in sorted(operations(document), key=lambda o: order.index(o[0]) if o[0] in order else 9):
        content = op.get("requestBody", {}).get("content", {}).get("application/json", {})
        bodies = [content["example"]] if "example" in content else []
        bodies += [e["value"] for e in content.get("examples", {}).values()]
        url = path
        for parameter in op.get("parameters", []):
            if parameter["in"] == "path":
                url = url.replace("{" + parameter["name"] + "}", str(parameter["example"]))
        for body in bodies:
            answer = client.request(method, url, json=body)
            assert answer.status_code < 300, (method, url, answer.text)
            tried += 1
    assert tried >= 6
