"""Cross-origin access for the endpoints a web page calls, and nothing else.

A shop's pages run on the shop's origin and call the service on another, so the browser asks
first (a CORS preflight) and shows the answer to the page only if the service allows that
origin. ``MVT_CORS_ORIGINS`` lists the origins allowed (none by default); the client endpoints
(:data:`CLIENT_PATHS`: decisions, their activation, rewards and the browser client) answer
preflights and carry the CORS headers, also on errors so a page can read a 4xx. Every other
endpoint (experiments, training, reports) is for operators and back ends, and stays
same-origin: its preflight is not answered.
"""

from __future__ import annotations

import re

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

CLIENT_PATHS = re.compile(r"^/v1/(decisions(/[^/]+/activate)?|rewards|client\.js)$")


def parse_origins(origins: str | None) -> list[str]:
    """Origins from a comma-separated list (``https://shop.example,https://m.shop.example``, or
    ``*`` for any origin).

    Raises
    ------
    ValueError
        An entry that is neither ``*`` nor a ``scheme://host[:port]`` origin.
    """
    found = [o.strip().rstrip("/") for o in (origins or "").split(",") if o.strip()]
    for origin in found:
        if origin != "*" and not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?", origin):
            raise ValueError(f"MVT_CORS_ORIGINS: {origin!r} is not an origin such as https://shop.example")
    return found


class ClientCors:
    """Starlette's CORS middleware, applied to the client endpoints only (see the module)."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self._app = app
        self._cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["authorization", "content-type"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and CLIENT_PATHS.match(scope["path"]):
            await self._cors(scope, receive, send)
        else:
            await self._app(scope, receive, send)
