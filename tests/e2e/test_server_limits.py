"""What a slow or hostile client may hold: headers have a deadline and a size limit, a body has a
deadline, an idle connection is closed, and a request without a key is refused before its body
is read. Against a real server (uvicorn with mvt's protocol) on loopback, with short limits."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from mvt_service.app import create_app
from mvt_service.cli.serving import serving
from mvt_service.http_server import ServerLimits
from mvt_service.settings import Settings
from store.repositories import Backend

LIMITS = ServerLimits(header_timeout_seconds=0.3, max_header_bytes=4096, keep_alive_seconds=1, max_connections=100)
PATIENCE = 10.0  # how long a test waits for the server; the limits are far shorter


@pytest.fixture
def server(settings: Settings, shared_backend: Backend) -> Iterator[tuple[str, int]]:
    keyed = settings.model_copy(update={"client_keys": "client-key", "body_timeout_seconds": 0.3})
    with serving(create_app(keyed, backend=shared_backend), limits=LIMITS) as url:
        host, port = url.removeprefix("http://").split(":")
        yield host, int(port)


def exchange(address: tuple[str, int], data: bytes) -> bytes:
    """Send ``data`` and read until the server closes the connection (or PATIENCE passes)."""
    with socket.create_connection(address, timeout=PATIENCE) as s:
        s.sendall(data)
        received = b""
        while chunk := s.recv(65536):
            received += chunk
        return received


def test_headers_that_never_finish_get_408_and_the_connection_is_closed(server: tuple[str, int]) -> None:
    answer = exchange(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_headers_past_the_size_limit_get_431(server: tuple[str, int]) -> None:
    answer = exchange(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 431 ")


def test_a_body_that_stalls_gets_408(server: tuple[str, int]) -> None:
    head = b"POST /v1/rewards HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer client-key\r\n"
    answer = exchange(server, head + b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n[{")
    assert answer.startswith(b"HTTP/1.1 408 ") and b"did not arrive within 0.3 s" in answer


def test_a_request_without_a_key_is_refused_before_its_body_is_read(server: tuple[str, int]) -> None:
    # the body never comes: an answer proves the service did not wait for it
    head = b"POST /v1/rewards HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n"
    answer = exchange(server, head)
    assert answer.startswith(b"HTTP/1.1 401 ")


def test_an_idle_keep_alive_connection_is_closed(server: tuple[str, int]) -> None:
    answer = exchange(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")  # then nothing more
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b'{"status":"ok"}')
