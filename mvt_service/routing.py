"""The route class of every endpoint: the API key is checked before the body is read, and JSON
bodies are parsed strictly.

- **Key first**: a route that requires a role (``Depends(require_client)`` or
  ``Depends(require_operator)``, on the route or its router) answers 401/403 before a byte of its
  body is read or parsed, so a caller without a key cannot make the service parse 256 KiB.
- **Strict JSON**: bodies are parsed by orjson, which rejects what RFC 8259 allows parsers to
  reject and Python's ``json`` accepts: a lone surrogate escape (``"\\ud800"``, text that UTF-8,
  BSON and VW cannot carry), ``NaN``, ``Infinity`` and numbers that overflow a double. Each is a
  422 naming the body.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute

from mvt_service.auth import principal, require_client, require_operator

ROLE_OF = {require_client: "client", require_operator: "operator"}


class StrictJSONRequest(Request):
    """A request whose JSON body is parsed by orjson (a subclass of ``json.JSONDecodeError`` is
    raised on invalid JSON, which FastAPI answers as a validation error)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = orjson.loads(await self.body())
        return self._json


class ApiRoute(APIRoute):
    """Checks the caller's key, then parses the body strictly (see the module)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        roles = [ROLE_OF[d.dependency] for d in self.dependencies if d.dependency in ROLE_OF]
        role = "operator" if "operator" in roles else roles[0] if roles else None

        async def route(request: Request) -> Response:
            if role is not None:
                principal(request, role)  # raises 401 or 403
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return route
