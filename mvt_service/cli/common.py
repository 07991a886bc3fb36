"""What the commands share: errors, calls to a running service, the store on MongoDB, tables."""

from __future__ import annotations

import json
import math
import os
from typing import Any

from mvt_service.client import ApiError, Connection
from mvt_service.settings import Settings, open_backend
from store.repositories import Store


class CommandError(Exception):
    """A command cannot run as asked; the message says what to do instead."""


class ApiClient:
    """A keep-alive connection to a running mvt service (:class:`mvt_service.client.Connection`)
    whose errors are :class:`CommandError`; ``key`` defaults to ``MVT_API_KEY``. Not
    thread-safe: one client per thread."""

    def __init__(self, url: str, key: str | None = None) -> None:
        try:
            self._connection = Connection(url, key or os.environ.get("MVT_API_KEY"), timeout=600)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.url = url

    def request(self, method: str, path: str, body: Any = None, if_match: str | None = None, raw: bool = False) -> Any:
        """Send a request; return its JSON answer (or, with ``raw``, the response to read).

        Raises
        ------
        CommandError
            If the service cannot be reached or answers with an error.
        """
        try:
            response = self._connection.request(method, path, body, {"if-match": if_match} if if_match else None)
        except ApiError as exc:
            raise CommandError(exc.detail if exc.status == 0 else f"{method} {path}: {exc}") from exc
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


def json_text(value: Any) -> str:
    """``value`` as indented JSON that any parser reads: a number that is not finite (an
    interval over one event is unbounded) is written as null, never as ``Infinity``."""

    def finite(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: finite(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [finite(x) for x in v]
        return v

    return json.dumps(finite(value), indent=2, allow_nan=False)


def open_store(settings: Settings, command: str) -> Store:
    """The MongoDB store for commands that work on the database directly."""
    if settings.embedded:
        raise CommandError(
            f"`mvt {command}` works on MongoDB (set MVT_MONGO_URI); the embedded store lives inside "
            "`mvt serve`, which trains in-process" + ("" if command == "trainer" else " (use --url to ask it)")
        )
    store = open_backend(settings).store(pending_seconds=settings.pending_seconds)
    store.backend.ensure_schema(settings.retention_days)
    return store


def print_table(header: list[str], rows: list[list[Any]]) -> None:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
    for row in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
