"""The OpenAPI document, completed: a summary, errors, examples and security for every operation.

FastAPI derives the document from the routes; this module adds what it cannot know, in one
place (:data:`OPERATIONS`, keyed by endpoint name):

- a **summary** in words, and the **errors** each operation can answer, every one as
  ``application/problem+json`` (:data:`PROBLEM`), the shape the API answers in; the errors
  every route shares are added by rule: 401 and 403 where a key is needed, 413 and 408 where a
  body is read, 422 where anything is validated (replacing FastAPI's own validation shape);
- **examples** of request bodies (those of the README) and of path parameters, so that
  Swagger UI's "Try it out" starts from a request the service accepts;
- the **bearer** security scheme (Swagger UI's Authorize button), and the ``key`` query
  parameter that beacons use instead (client endpoints that accept beacons).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import iter_route_contexts

from mvt_service.errors import PROBLEM_JSON
from mvt_service.routing import ApiRoute

PROBLEM: dict[str, Any] = {
    "type": "object",
    "description": "An error (RFC 9457); `detail` names the field or resource at fault",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "a stable URN to match on", "example": "urn:mvt:problem:not-found"},
        "title": {"type": "string", "description": "the status in words", "example": "Not Found"},
        "status": {"type": "integer", "description": "the HTTP status", "example": 404},
        "detail": {
            "type": "string",
            "description": "what is wrong, naming the field",
            "example": "no experiment `home`",
        },
        "errors": {
            "type": "array",
            "description": "on a validation error (422): every failing field",
            "items": {"type": "object"},
        },
    },
}

WHY = {
    401: "no API key, or one that is not valid",
    403: "the key's role is too low (a client key on an operator endpoint)",
    404: "the experiment, policy version or decision does not exist",
    408: "the body took longer than `MVT_BODY_TIMEOUT_SECONDS` to arrive",
    409: "a conflict: another trainer holds the experiment, an event id was used for another experiment, "
    "or the experiment kept changing",
    412: "`If-Match` names a revision the experiment has moved past",
    413: "the body is larger than `MVT_MAX_BODY_BYTES`",
    422: "a field is not valid: `detail` names it",
    503: "the log is backed up: retry",
}

DECISION = {
    "experiment": "home",
    "context": {"device": "mobile", "geo": "DE", "referrer": "google"},
    "visitor": "visitor-81723",
}
EXPERIMENT = {
    "factors": {"hero": ["big", "small"], "cta": ["green", "blue"]},
    "exclude": [{"hero": "small", "cta": "blue"}],
    "default_arm": "hero=big,cta=green",
    "exploration": {"epsilon": 0.2},
    "reward": {"window_seconds": 86400, "default": 0.0, "aggregate": "sum"},
    "sticky_seconds": 1800,
}


@dataclass(frozen=True)
class Operation:
    """What the document says of one operation beyond what FastAPI derives."""

    summary: str
    errors: tuple[int, ...] = ()
    example: Any = None
    examples: dict[str, Any] = field(default_factory=dict)


OPERATIONS: dict[str, Operation] = {
    "create_decision": Operation("Choose a layout for a visitor", (404, 409), DECISION),
    "activate_decision": Operation("Record that a deferred layout was shown"),
    "post_rewards": Operation(
        "Post rewards",
        (503,),
        examples={
            "one reward": {"event_id": "3f0c9b2e5d8a4c1f", "reward": 1},
            "a batch": [
                {"event_id": "3f0c9b2e5d8a4c1f", "reward": 1, "reward_id": "click"},
                {"event_id": "3f0c9b2e5d8a4c1f", "reward": 49.9, "reward_id": "order"},
            ],
        },
    ),
    "healthz": Operation("Is the process up"),
    "readyz": Operation("Is this worker ready to serve"),
    "prometheus_metrics": Operation("This worker's metrics"),
    "put_experiment": Operation("Create or replace an experiment", (409, 412), EXPERIMENT),
    "list_experiments": Operation("List the experiments"),
    "get_experiment": Operation("Read an experiment", (404,)),
    "set_exploration": Operation("Change the exploration rate", (404, 412), {"epsilon": 0.05}),
    "set_holdout": Operation("Change the holdout share", (404, 412), {"fraction": 0.05}),
    "pause": Operation("Pause: show every visitor the default layout", (404, 412)),
    "resume": Operation("Resume after a pause", (404, 412)),
    "set_arm": Operation("Enable or disable an arm", (404, 412), {"enabled": False}),
    "list_policies": Operation("List the trained policies", (404,)),
    "activate_policy": Operation("Serve a policy version now (or roll back)", (404,)),
    "train": Operation("Run a training cycle now", (404, 409)),
    "search": Operation("Search the learning settings now", (404, 409)),
    "list_reports": Operation("List the replay reports", (404,)),
    "latest_report": Operation("Read the newest replay report", (404,)),
    "export": Operation("Export the joined log as VW DSJSON", (404,)),
    "experiment_summary": Operation("How the experiment is doing now", (404,)),
    "list_audit": Operation("Read the audit log"),
    "client_js": Operation("The browser client"),
}
"""Every operation of the API, by endpoint name; a test checks that none is missing."""

PARAMETERS = {
    "experiment_id": ("home", None),
    "event_id": ("3f0c9b2e5d8a4c1f", "the decision's `event_id`"),
    "version": (2, "the policy's version"),
    "arm": ("hero=small,cta=green", "the arm's id (percent-encoded in the path)"),
    "limit": (20, "how many, newest first"),
    "hours": (24, None),
    "accept": ("text/html", "`text/html` for the report as a page; JSON otherwise"),
    "if-match": ('"3"', None),
    "experiment": ("home", None),
    "format": (None, None),  # its own description names its one value
}


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the completed document (built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def complete(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document for ``app``, completed (see the module).

    Raises
    ------
    KeyError
        A documented route that :data:`OPERATIONS` does not describe.
    """
    document = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for generated in ("HTTPValidationError", "ValidationError"):
        schemas.pop(generated, None)
    schemas["Problem"] = PROBLEM
    components["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "description": "`Authorization: Bearer <key>`"},
        "clientKey": {
            "type": "apiKey",
            "in": "query",
            "name": "key",
            "description": "a client key in the URL, for beacons that cannot send headers (never an operator key)",
        },
    }
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, ApiRoute) or not route.include_in_schema:
            continue
        described = OPERATIONS[route.name]
        for method in route.methods or ():
            operation = document["paths"][context.path_format][method.lower()]
            _complete(operation, route, described)
    return document


def _complete(operation: dict[str, Any], route: ApiRoute, described: Operation) -> None:
    operation["summary"] = described.summary
    errors = set(described.errors)
    if route.role is not None:
        operation["security"] = [{"bearer": []}, *([{"clientKey": []}] if route.beacons else [])]
        errors |= {401, 403}
    if route.body_field is not None:
        errors |= {408, 413, 422}
    if operation.get("parameters") or route.body_field is not None:
        errors.add(422)
    responses = operation["responses"]
    for status in sorted(errors):
        responses[str(status)] = {
            "description": f"{HTTPStatus(status).phrase}: {WHY[status]}",
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    for parameter in operation.get("parameters", []):
        example, description = PARAMETERS[parameter["name"]]
        if example is not None:
            parameter["example"] = example
        if description and "description" not in parameter:
            parameter["description"] = description
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        body = content["application/json"]
        if described.example is not None:
            body["example"] = described.example
        if described.examples:
            body["examples"] = {name: {"value": value} for name, value in described.examples.items()}
        if route.beacons:
            content["text/plain"] = {**body, "description": "the same JSON, as sent by navigator.sendBeacon"}
