"""What the commands share: errors, calls to a running service, the MongoDB store, tables."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

from mvt_service.settings import Settings, open_database
from mvt_service.store import Store


class CommandError(Exception):
    """A command cannot run as asked; the message says what to do instead."""


def call_api(url: str, method: str, path: str, body: Any = None, key: str | None = None,
             if_match: str | None = None, raw: bool = False) -> Any:
    """Call a running mvt service and return its JSON answer (or the raw response, open, with
    ``raw``); ``key`` defaults to ``MVT_API_KEY``.

    Raises
    ------
    CommandError
        If the service cannot be reached or answers with an error.
    """
    data = None if body is None else json.dumps(body).encode()
    headers = {"content-type": "application/json"}
    key = key or os.environ.get("MVT_API_KEY")
    if key:
        headers["authorization"] = f"Bearer {key}"
    if if_match:
        headers["if-match"] = if_match
    request = urllib.request.Request(f"{url.rstrip('/')}{path}", data=data, method=method, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=600)
        if raw:
            return response
        with response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = json.loads(exc.read() or b"{}").get("detail", exc.reason)
        raise CommandError(f"{method} {path}: {exc.code} {detail}") from exc
    except urllib.error.URLError as exc:
        raise CommandError(f"cannot reach {url}: {exc.reason}") from exc


def open_store(settings: Settings, command: str) -> Store:
    """The MongoDB store for commands that work on the database directly."""
    if settings.embedded:
        raise CommandError(
            f"`mvt {command}` works on MongoDB (set MVT_MONGO_URI); the embedded store lives inside "
            "`mvt serve`, which trains in-process" + ("" if command == "trainer" else " (use --url to ask it)")
        )
    _, db = open_database(settings)
    store = Store(db)
    store.ensure_indexes()
    return store


def print_table(header: list[str], rows: list[list[Any]]) -> None:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
    for row in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
