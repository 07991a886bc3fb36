"""`mvt serve`."""

from __future__ import annotations

import argparse
import contextlib
import re
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn

from mvt_service.app import create_app
from mvt_service.auth import KeyRing, is_loopback
from mvt_service.cli.common import CommandError
from mvt_service.http_server import GuardedHttpToolsProtocol, ServerLimits
from mvt_service.settings import Settings, open_backend
from store.errors import StoreError


def check_binding(settings: Settings) -> None:
    """Refuse to serve without API keys on any address but loopback.

    Raises
    ------
    CommandError
        When no keys are configured and ``settings.host`` is not a loopback address.
    """
    if KeyRing.from_settings(settings.client_keys, settings.operator_keys).open and not is_loopback(settings.host):
        raise CommandError(
            f"refusing to serve on {settings.host} without API keys: anyone could change experiments. "
            "Set MVT_CLIENT_KEYS and MVT_OPERATOR_KEYS, or bind to 127.0.0.1."
        )


def check_spool(settings: Settings) -> None:
    """Refuse to serve when the spool directory cannot be made or written: the log writer
    keeps there what the store cannot take, and would fail at start with a traceback.

    Raises
    ------
    CommandError
        Naming ``MVT_SPOOL_DIR`` and why it cannot be used.
    """
    path = Path(settings.spool_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        why = "it is a file" if path.exists() and not path.is_dir() else exc.strerror or str(exc)
        raise CommandError(
            f"MVT_SPOOL_DIR={str(path)!r} cannot be used ({why}): it must be a directory this process can "
            "write (the log's spool)"
        ) from exc


def check_store(settings: Settings) -> None:
    """Refuse to serve when the store cannot be used, in one line: MongoDB at ``MVT_MONGO_URI``
    that does not answer a ping within the client's server selection timeout (5 s), or an SQLite
    file at ``MVT_DATA_PATH`` that cannot be opened, created or written (corrupt, not a database,
    in a folder that cannot be made); such a file is left as it is. Says where the data lives.

    Raises
    ------
    CommandError
        Naming the hosts tried or the file, and the reason.
    """
    if settings.embedded and settings.data_path is None:
        print("mvt serve: MVT_DATA_PATH is empty: a temporary store, removed when it stops", file=sys.stderr)
        return
    try:
        backend = open_backend(settings)
        try:
            backend.ping()
            if settings.embedded:
                backend.ensure_schema(settings.retention_days)
        finally:
            backend.close()
    except StoreError as exc:
        if settings.embedded:
            raise CommandError(f"cannot use the store at {settings.data_path}: {exc.__cause__ or exc}") from exc
        reason = re.split(r", Timeout:| \(configured timeouts", str(exc.__cause__ or exc))[0].splitlines()[0]
        raise CommandError(f"cannot reach MongoDB at MVT_MONGO_URI: {reason}") from exc
    if settings.embedded and settings.data_path is not None:
        print(f"mvt serve: the data is kept in {settings.data_path.resolve()} (MVT_DATA_PATH)", file=sys.stderr)


@contextlib.contextmanager
def serving(app: Any, host: str = "127.0.0.1", limits: ServerLimits | None = None) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free port of ``host`` in a thread, with the server
    ``limits`` (default: from the environment); yield its URL and stop it (draining the
    decision log) on exit."""
    with socket.socket() as s:
        s.bind((host, 0))
        port = s.getsockname()[1]
    options = (limits or ServerLimits.of(Settings())).uvicorn_options()
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise CommandError("the embedded service did not start")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def serve(args: argparse.Namespace, settings: Settings) -> int:
    """Run the HTTP API with uvicorn until SIGTERM or Ctrl-C (both drain the log first).

    With ``--workers N`` uvicorn forks N worker processes that share the port; each builds its
    app from the environment (``MVT_*``), so ``--host`` and ``--port`` apply to the listening
    socket only.
    """
    settings = settings.model_copy(update={"host": args.host or settings.host, "port": args.port or settings.port})
    check_binding(settings)
    check_spool(settings)
    check_store(settings)
    limits = ServerLimits.of(settings)
    if args.workers == 1:
        options = limits.uvicorn_options()
        uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=args.log_level, **options)
        return 0
    if settings.embedded:
        raise CommandError(
            "several workers need MongoDB (MVT_MONGO_URI): the single-machine store serves one worker process"
        )
    uvicorn.run(
        "mvt_service.app:create_app",
        factory=True,
        workers=args.workers,
        # each worker process reads its limits from the environment: the class must be importable
        **{**limits.uvicorn_options(), "http": GuardedHttpToolsProtocol},
        host=settings.host,
        port=settings.port,
        log_level=args.log_level,
    )
    return 0
