"""`mvt serve`."""

from __future__ import annotations

import argparse

import uvicorn

from mvt_service.app import create_app
from mvt_service.auth import KeyRing, is_loopback
from mvt_service.cli.common import CommandError
from mvt_service.settings import Settings


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


def serve(args: argparse.Namespace, settings: Settings) -> int:
    """Run the HTTP API with uvicorn until interrupted."""
    settings = settings.model_copy(update={"host": args.host or settings.host, "port": args.port or settings.port})
    check_binding(settings)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=args.log_level)
    return 0
