"""The HTTP server's limits: what a slow or hostile client may hold.

uvicorn's HTTP protocol (httptools) waits for a request's headers forever and takes headers of
any size, so a few hundred slow connections, or one request with megabytes of headers, hold a
worker's memory and connections. :class:`GuardedHttpToolsProtocol` adds, per connection:

- **a header deadline**: a request's line and headers must arrive within
  ``header_timeout_seconds`` of its first byte (of the connection, for the first request), or
  the server answers 408 and closes;
- **a header size limit**: more than ``max_header_bytes`` of request line and headers is 431,
  and the connection is closed.

The body has its deadline in :class:`mvt_service.body_limit.BodyLimitMiddleware`; idle
keep-alive connections close after ``keep_alive_seconds`` and at most ``max_connections`` are
served at once (uvicorn's own ``timeout_keep_alive`` and ``limit_concurrency``: 503 beyond).
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mvt_service.settings import Settings


@dataclass(frozen=True)
class ServerLimits:
    header_timeout_seconds: float
    max_header_bytes: int
    keep_alive_seconds: int
    max_connections: int

    @classmethod
    def of(cls, settings: Settings) -> ServerLimits:
        return cls(
            settings.header_timeout_seconds,
            settings.max_header_bytes,
            settings.keep_alive_seconds,
            settings.max_connections,
        )

    def uvicorn_options(self) -> dict[str, Any]:
        """The limits uvicorn enforces itself, and this protocol for the others."""
        return {
            "http": protocol_for(self),
            "timeout_keep_alive": self.keep_alive_seconds,
            "limit_concurrency": self.max_connections,
        }


def _response(status: bytes, text: str) -> bytes:
    body = text.encode()
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
    )


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header deadline and a header size limit (see the
    module). ``limits`` is set by :func:`protocol_for`; left None, it comes from the
    environment (``MVT_*``), as in each worker process of ``mvt serve --workers N``."""

    limits: ServerLimits | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = type(self).limits or _limits_from_environment()
        self._header_bytes = 0
        self._headers_too_large = False
        self._header_deadline: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        if self._header_deadline is None:
            self._header_deadline = self.loop.call_later(self._limits.header_timeout_seconds, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.write(_response(b"408 Request Timeout", "the request's headers took too long to arrive"))
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.cycle is None or self.cycle.response_complete:
            self._arm()  # bytes of a new request: its headers are on the clock from now
        super().data_received(data)

    def on_message_begin(self) -> None:
        self._header_bytes = 0
        super().on_message_begin()

    def _count(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > self._limits.max_header_bytes:
            self._headers_too_large = True
            raise ValueError("request headers too large")  # the parser stops; data_received answers

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        if not self._headers_too_large:
            super().send_400_response(msg)
            return
        limit = self._limits.max_header_bytes
        self.transport.write(_response(b"431 Request Header Fields Too Large", f"request headers exceed {limit} bytes"))
        self.transport.close()


@functools.cache
def _limits_from_environment() -> ServerLimits:
    return ServerLimits.of(Settings())


def protocol_for(limits: ServerLimits) -> type[GuardedHttpToolsProtocol]:
    """The protocol class with these limits (module-level and picklable for several workers
    only when the limits come from the environment: then use the base class itself)."""
    return type("GuardedHttpToolsProtocol", (GuardedHttpToolsProtocol,), {"limits": limits})
