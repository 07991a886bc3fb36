"""Reject request bodies over a size limit with 413, whether or not they declare a length, and
bodies that take longer than a deadline to arrive with 408."""

from __future__ import annotations

import asyncio

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mvt_service.errors import problem


class BodyTooLarge(HTTPException):
    """Raised while the body streams in; an ``HTTPException`` so the app's handlers answer 413
    even where the framework wraps errors raised while parsing a body."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request body exceeds {max_bytes} bytes")


class BodyTooSlow(HTTPException):
    """The body did not arrive within its deadline (a slow or stalled sender)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(408, f"the request body did not arrive within {seconds:g} s")


class BodyLimitMiddleware:
    """Pure ASGI middleware: checks ``Content-Length`` up front, counts streamed bytes, and gives
    the whole body ``timeout_seconds`` from the first read to arrive (reads after the body, such
    as a streaming response's wait for a disconnect, have no deadline)."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_seconds: float = 10.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_seconds = timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await _answer(BodyTooLarge(self.max_bytes), scope, receive, send)
                return

        received, complete = 0, False
        deadline: float | None = None

        async def counting_receive() -> Message:
            nonlocal received, complete, deadline
            if complete:
                return await receive()
            deadline = deadline or asyncio.get_running_loop().time() + self.timeout_seconds
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyTooSlow(self.timeout_seconds) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        try:
            await self.app(scope, counting_receive, send)
        except (BodyTooLarge, BodyTooSlow) as exc:  # raised while the body is read: before any response
            await _answer(exc, scope, receive, send)


async def _answer(error: HTTPException, scope: Scope, receive: Receive, send: Send) -> None:
    await problem(error.status_code, error.detail)(scope, receive, send)
