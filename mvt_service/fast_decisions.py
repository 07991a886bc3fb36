"""The decision endpoint's fast path: a valid decision request is answered before the
framework's routing, everything else goes the framework's way.

``POST /v1/decisions`` is on every page view, and the framework's general path (routing,
middleware layers, dependency solving, request and response objects) cost as much as the
decision itself (BENCHMARKS.md). :class:`FastDecisions` sits just inside the body limit and
takes a request of that path and method with a JSON content type and a key that may ask for
decisions (the client role or above);
it reads the body (under the body limit's size and deadline), parses it strictly (orjson, as
:mod:`mvt_service.routing`), validates it with the endpoint's own model, and answers with the
endpoint's own :func:`~mvt_service.routes.decisions.decision_answer`, in the headers the
framework would send. An error the decision raises is answered by the app's error handlers
(:func:`mvt_service.errors.error_response`).

Whatever it does not take (another content type, a missing or wrong key, JSON that does not
parse or validate, a client that goes away) goes to the framework with the body it read, so
every error answer, the 401 before a byte is read included, is the framework's. Nothing is
decided or logged before that point, so a request is decided once whichever path answers.
``tests/api/test_fast_decisions.py`` sends the same requests both ways and compares every
field, header and logged record.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mvt_service.auth import principal
from mvt_service.errors import ServiceError, error_response
from mvt_service.routes.decisions import decision_answer
from mvt_service.schemas import DecisionBody

PATH = "/v1/decisions"
JSON = b"application/json"


class FastDecisions:
    """Pure ASGI middleware: the fast path of ``POST /v1/decisions`` (see the module)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            principal(request, "client")
        except ServiceError:
            await self.app(scope, receive, send)  # the framework answers 401 or 403, unread
            return
        messages = await _read(receive)
        body = _valid(messages)
        if body is None:
            await self.app(scope, _replaying(messages, receive), send)
            return
        try:
            answer = await decision_answer(scope["app"].state.services.runtime, body)
        except Exception as exc:
            await (await error_response(request, exc))(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", str(len(answer)).encode()), (b"content-type", JSON)],
            }
        )
        await send({"type": "http.response.body", "body": answer})


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bool(value.split(b";", 1)[0].strip().lower() == JSON)
    return False


async def _read(receive: Receive) -> list[Message]:
    """The request's messages up to the end of its body (or the client's going away)."""
    messages = [await receive()]
    while messages[-1]["type"] == "http.request" and messages[-1].get("more_body", False):
        messages.append(await receive())
    return messages


def _valid(messages: list[Message]) -> DecisionBody | None:
    """The request's body as a valid decision request, or None (the framework says why)."""
    if messages[-1]["type"] != "http.request":
        return None
    try:
        data: Any = orjson.loads(b"".join(m.get("body", b"") for m in messages))
        return DecisionBody.model_validate(data)
    except (orjson.JSONDecodeError, ValidationError):
        return None


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that gives ``messages`` again, then what ``receive`` gives."""
    waiting = iter(messages)

    async def replay() -> Message:
        return next(waiting, None) or await receive()

    return replay
