"""Domain errors and their one mapping to ``application/problem+json`` (RFC 9457)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from store.errors import StoreUnavailable

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class ServiceError(Exception):
    """An error the client can act on; ``detail`` names the field or resource at fault."""

    status: int = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(ServiceError):
    status = 404


class Invalid(ServiceError):
    status = 422


class Conflict(ServiceError):
    status = 409


class Unavailable(ServiceError):
    status = 503


class PreconditionFailed(ServiceError):
    status = 412


def problem(status: int, detail: str, **extra: Any) -> JSONResponse:
    """A problem+json response; ``type`` is a stable URN clients can match on."""
    title = HTTPStatus(status).phrase
    body = {
        "type": f"urn:mvt:problem:{title.lower().replace(' ', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    return ".".join(parts) or "body"


async def _service_error(_: Request, exc: ServiceError) -> JSONResponse:
    response = problem(exc.status, exc.detail)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def _message(error: dict[str, Any]) -> str:
    if error["type"] == "json_invalid":
        return f"not valid JSON at character {error['loc'][-1]}: {error.get('ctx', {}).get('error', 'decode error')}"
    return str(error["msg"]).removeprefix("Value error, ")


async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [
        {"field": "body" if e["type"] == "json_invalid" else _field(tuple(e["loc"])), "message": _message(e)}
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"field": "body", "message": "invalid request"}
    return problem(422, _detail(first["field"], first["message"]), errors=errors)


def _detail(field: str, message: str) -> str:
    """``field: message``, without the field's name twice when the domain's message names it
    (``context: `x` must be…`` for the field ``context``, or ``arms.0.features``)."""
    name = field.rsplit(".", 1)[-1]
    return f"{field}: {message.removeprefix(f'{name}: ')}"


async def _http_error(_: Request, exc: HTTPException) -> JSONResponse:
    response = problem(exc.status_code, str(exc.detail))
    response.headers.update(exc.headers or {})
    return response


async def _store_unavailable(_: Request, exc: Exception) -> JSONResponse:
    """MongoDB unreachable, or electing a primary: the request may be retried shortly."""
    log.warning("store unavailable: %s", exc)
    response = problem(503, "the store is unavailable (MongoDB unreachable or electing a primary); retry shortly")
    response.headers["Retry-After"] = "2"
    return response


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc)
    return problem(500, "internal error; the service logs say more")


HANDLERS: dict[type[Exception], Callable[[Request, Any], Awaitable[JSONResponse]]] = {
    ServiceError: _service_error,
    RequestValidationError: _validation_error,
    HTTPException: _http_error,
    StoreUnavailable: _store_unavailable,
    Exception: _unexpected,
}
"""Every error the API can raise, and its answer."""


def install_error_handlers(app: FastAPI) -> None:
    """Map every error the API can raise to problem+json; no stack trace reaches a client."""
    for kind, handler in HANDLERS.items():
        app.add_exception_handler(kind, handler)


async def error_response(request: Request, exc: Exception) -> JSONResponse:
    """The answer the app's handlers give to ``exc``: that of its nearest class in
    :data:`HANDLERS`, as the framework looks it up (for what answers outside the framework)."""
    kind = next(k for k in type(exc).__mro__ if k in HANDLERS)
    return await HANDLERS[kind](request, exc)
