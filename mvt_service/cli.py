"""The ``mvt`` command line."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from mvt_service.settings import Settings

DESCRIPTION = """\
mvt: contextual-bandit decisions for multivariate tests of web pages.

Configuration comes from MVT_* environment variables (see the README); with no
MVT_MONGO_URI the service runs on an embedded in-process store that keeps nothing
across restarts.
"""


def serve(args: argparse.Namespace, settings: Settings) -> int:
    """Run the HTTP API with uvicorn until interrupted."""
    import uvicorn

    from mvt_service.app import create_app

    settings = settings.model_copy(update={"host": args.host or settings.host, "port": args.port or settings.port})
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=args.log_level)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mvt", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"],
                        help="how much to log (default: info)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser(
        "serve", help="run the HTTP API (decisions, rewards, experiments)",
        description="Run the HTTP API. On the embedded store it seeds the demo experiment `home`.",
    )
    p.add_argument("--host", help="address to bind (default: MVT_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on (default: MVT_PORT or 8000)")
    p.set_defaults(run=serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return args.run(args, Settings())


if __name__ == "__main__":
    sys.exit(main())
