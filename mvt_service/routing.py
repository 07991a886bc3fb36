"""The route class of every endpoint: the API key is checked before the body is read, and JSON
bodies are parsed strictly.

- **Key first**: a route that requires a role (``Depends(require_client)`` or
  ``Depends(require_operator)``, on the route or its router) answers 401/403 before a byte of its
  body is read or parsed, so a caller without a key cannot make the service parse 256 KiB.
- **Beacons**: an endpoint marked :func:`accepts_beacons` also takes its JSON body as
  ``text/plain``, the type ``navigator.sendBeacon`` sends without a preflight, with the same
  validation and size limit.
- **Strict JSON**: bodies are parsed by orjson, which rejects what RFC 8259 allows parsers to
  reject and Python's ``json`` accepts: a lone surrogate escape (``"\\ud800"``, text that UTF-8,
  BSON and VW cannot carry), ``NaN``, ``Infinity`` and numbers that overflow a double. Each is a
  422 naming the body.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute

from mvt_service.auth import principal, require_client, require_operator

ROLE_OF = {require_client: "client", require_operator: "operator"}
BEACON = "mvt_beacon"
E = TypeVar("E", bound=Callable[..., Any])


def accepts_beacons(endpoint: E) -> E:
    """Mark an endpoint whose JSON body may arrive as ``text/plain`` (see the module)."""
    setattr(endpoint, BEACON, True)
    return endpoint


class StrictJSONRequest(Request):
    """A request whose JSON body is parsed by orjson (a subclass of ``json.JSONDecodeError`` is
    raised on invalid JSON, which FastAPI answers as a validation error)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = orjson.loads(await self.body())
        return self._json


class ApiRoute(APIRoute):
    """Checks the caller's key, then parses the body strictly (see the module)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        self.beacons = getattr(endpoint, BEACON, False)
        if self.beacons:
            extra = kwargs.get("openapi_extra") or {}
            kwargs["openapi_extra"] = {"x-beacon": "the body may also be sent as text/plain (sendBeacon)", **extra}
        super().__init__(path, endpoint, **kwargs)

    @property
    def role(self) -> str | None:
        """The role a caller needs (None: anyone)."""
        roles = [ROLE_OF[d.dependency] for d in self.dependencies if d.dependency in ROLE_OF]
        return "operator" if "operator" in roles else roles[0] if roles else None

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        role, beacons = self.role, self.beacons

        async def route(request: Request) -> Response:
            if role is not None:
                principal(request, role)  # raises 401 or 403
            scope = request.scope
            if beacons and request.headers.get("content-type", "").split(";")[0].strip().lower() == "text/plain":
                headers = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
                scope = {**scope, "headers": [*headers, (b"content-type", b"application/json")]}
            return await handler(StrictJSONRequest(scope, request.receive))

        return route
