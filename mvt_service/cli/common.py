"""What the commands share: errors, calls to a running service, the MongoDB store, tables."""

from __future__ import annotations

import http.client
import json
import os
import urllib.parse
from typing import Any

from mvt_service.settings import Settings, open_database
from mvt_service.store import Store


class CommandError(Exception):
    """A command cannot run as asked; the message says what to do instead."""


class ApiClient:
    """A keep-alive HTTP connection to a running mvt service; ``key`` defaults to
    ``MVT_API_KEY``. Not thread-safe: one client per thread."""

    def __init__(self, url: str, key: str | None = None) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CommandError(f"not an http(s) URL: {url!r}")
        self.url = url
        self._prefix = parts.path.rstrip("/")
        connection = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        self._connection = connection(parts.hostname, parts.port, timeout=600)
        self._key = key or os.environ.get("MVT_API_KEY")

    def request(self, method: str, path: str, body: Any = None, if_match: str | None = None, raw: bool = False) -> Any:
        """Send a request; return its JSON answer (or, with ``raw``, the response to read).

        Raises
        ------
        CommandError
            If the service cannot be reached or answers with an error.
        """
        headers = {"content-type": "application/json"}
        if self._key:
            headers["authorization"] = f"Bearer {self._key}"
        if if_match:
            headers["if-match"] = if_match
        data = None if body is None else json.dumps(body).encode()
        try:
            self._connection.request(method, self._prefix + path, body=data, headers=headers)
            response = self._connection.getresponse()
        except OSError as exc:
            self._connection.close()
            raise CommandError(f"cannot reach {self.url}: {exc}") from exc
        if response.status >= 400:
            detail = json.loads(response.read() or b"{}").get("detail", response.reason)
            raise CommandError(f"{method} {path}: {response.status} {detail}")
        return response if raw else json.loads(response.read())

    def __call__(self, method: str, path: str, body: Any = None) -> Any:
        return self.request(method, path, body)

    def close(self) -> None:
        self._connection.close()


def call_api(
    url: str,
    method: str,
    path: str,
    body: Any = None,
    key: str | None = None,
    if_match: str | None = None,
    raw: bool = False,
) -> Any:
    """One request to a running mvt service (see :meth:`ApiClient.request`)."""
    return ApiClient(url, key).request(method, path, body, if_match, raw)


def open_store(settings: Settings, command: str) -> Store:
    """The MongoDB store for commands that work on the database directly."""
    if settings.embedded:
        raise CommandError(
            f"`mvt {command}` works on MongoDB (set MVT_MONGO_URI); the embedded store lives inside "
            "`mvt serve`, which trains in-process" + ("" if command == "trainer" else " (use --url to ask it)")
        )
    _, db = open_database(settings)
    store = Store(db, pending_seconds=settings.pending_seconds)
    store.ensure_indexes(settings.retention_days)
    return store


def print_table(header: list[str], rows: list[list[Any]]) -> None:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
    for row in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
