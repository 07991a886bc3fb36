"""The ``mvt`` command line: one module per group of commands."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from mvt_service.cli.common import CommandError, call_api
from mvt_service.cli.operators import experiments
from mvt_service.cli.replaying import export, replay
from mvt_service.cli.serving import check_binding, serve
from mvt_service.cli.simulating import add_arguments, simulate_command
from mvt_service.cli.training import search, train, trainer
from mvt_service.settings import Settings, environment_errors

__all__ = ["CommandError", "build_parser", "call_api", "check_binding", "main"]

DESCRIPTION = """\
mvt: contextual-bandit decisions for multivariate tests of web pages.

Configuration comes from MVT_* environment variables (see the README); with no
MVT_MONGO_URI the service runs on an embedded in-process store that keeps nothing
across restarts.
"""


def add_url(parser: argparse.ArgumentParser) -> None:
    """The ``--url`` of a running service, defaulting to ``MVT_URL`` (sent with ``MVT_API_KEY``)."""
    parser.add_argument(
        "--url", default=os.environ.get("MVT_URL"), help="a running service (default: MVT_URL; key: MVT_API_KEY)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mvt", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="how much to log (default: info)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser(
        "serve",
        help="run the HTTP API (decisions, rewards, experiments)",
        description="Run the HTTP API. On the embedded store it seeds the demo experiment `home`.",
    )
    p.add_argument("--host", help="address to bind (default: MVT_HOST or 127.0.0.1)")
    p.add_argument("--port", type=port, help="port to listen on, 1 to 65535 (default: MVT_PORT or 8000)")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        choices=range(1, 65),
        metavar="N",
        help="worker processes sharing the port (more than 1 needs MVT_MONGO_URI)",
    )
    p.set_defaults(run=serve)

    for name, run, summary, description in [
        (
            "train",
            train,
            "run one training cycle of an experiment now",
            "Join rewards, train a candidate policy, replay it on held-out data and promote it if the promotion "
            "gate passes.",
        ),
        (
            "search",
            search,
            "search an experiment's learning settings now, without promoting anything",
            "Score the learning settings the next training cycle would try (learning rate, cost estimator, "
            "interactions, l2, clip_p, passes) by replay on later events of the experiment's training data "
            "(held out in time), and print every setting with its estimate and interval.",
        ),
    ]:
        p = commands.add_parser(
            name,
            help=summary,
            description=description + " With --url, asks a running "
            "service; otherwise works on MongoDB (MVT_MONGO_URI) and shows its progress.",
        )
        p.add_argument("--experiment", required=True, help="experiment id")
        add_url(p)
        p.set_defaults(run=run)

    p = commands.add_parser(
        "trainer",
        help="run the training schedule as its own process (production)",
        description="Train every experiment whose training.interval_seconds has passed, on MongoDB "
        "(MVT_MONGO_URI). Several trainers may run: a lease per experiment keeps them apart.",
    )
    p.add_argument("--once", action="store_true", help="run the due cycles once and exit")
    p.set_defaults(run=trainer)

    p = commands.add_parser(
        "replay",
        help="show the newest replay report, or estimate policies from a log file",
        description="`mvt replay --experiment ID [--html FILE]` prints the newest replay report (and can "
        "write it as an HTML page). `mvt replay estimate --logs FILE` reads logged bandit events "
        "(JSON lines, format in the README) and prints the IPS, SNIPS and DR estimates of the "
        "target policy as JSON.",
    )
    p.add_argument(
        "action", nargs="?", choices=["report", "estimate"], default="report", help="report (default) or estimate"
    )
    p.add_argument("--experiment", help="experiment id (report)")
    p.add_argument("--html", help="also write the report as a self-contained HTML page (report)")
    add_url(p)
    p.add_argument("--logs", help="JSON-lines file of logged events (estimate)")
    p.add_argument("--confidence", type=float, default=0.95, help="interval level (estimate; default 0.95)")
    p.set_defaults(run=replay)

    p = commands.add_parser(
        "export",
        help="write an experiment's joined log as Vowpal Wabbit DSJSON",
        description="Every decision whose attribution window has closed, with its joined reward, one DSJSON "
        "object per line (readable by `vw --cb_explore_adf --dsjson`).",
    )
    p.add_argument("--experiment", required=True, help="experiment id")
    p.add_argument("--format", choices=["dsjson"], default="dsjson", help="output format (dsjson)")
    p.add_argument("--output", help="file to write (default: standard output)")
    add_url(p)
    p.set_defaults(run=export)

    p = commands.add_parser(
        "experiments",
        help="operator controls of a running service",
        description="List, show and change experiments on a running service (MVT_URL, default "
        "http://127.0.0.1:8000) with an operator key (MVT_API_KEY). Every change is "
        "conditional on the revision just read, so a concurrent edit is never overwritten.",
        epilog="examples:\n  mvt experiments list\n  mvt experiments show home\n"
        "  mvt experiments set-epsilon home 0.05\n  mvt experiments set-candidate-share home 0.5\n"
        "  mvt experiments pause home\n"
        "  mvt experiments disable-arm home 'hero=small,cta=blue,headline=value'\n"
        "  mvt experiments activate home 3",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "action",
        choices=[
            "list",
            "show",
            "set-epsilon",
            "set-candidate-share",
            "pause",
            "resume",
            "disable-arm",
            "enable-arm",
            "activate",
        ],
    )
    p.add_argument("experiment", nargs="?", help="experiment id")
    p.add_argument("value", nargs="?", help="epsilon, candidate share, arm id or policy version")
    add_url(p)
    p.set_defaults(run=experiments)

    p = commands.add_parser(
        "simulate",
        help="drive a service with a simulated shop and measure how well it learns",
        description="Simulated visitors ask for layouts, click (or order) by a hidden model whose best layout "
        "depends on the visitor, and post rewards after a delay; a training cycle runs every "
        "--train-every visitors. Prints and writes the learning curve against uniform random, the "
        "best fixed layout and the oracle, the final policy's share of the oracle, and replay's "
        "estimate next to the true value. Uses an embedded service unless --url is given.",
    )
    add_arguments(p, visitors=20_000, search_events=10_000)
    p.set_defaults(run=simulate_command)

    p = commands.add_parser(
        "demo",
        help="see it work: a simulation on an embedded service, with a chart",
        description="`mvt simulate` with quick defaults: 20,000 visitors on an embedded "
        "service, a policy search on samples of at most 3,000 events.",
    )
    add_arguments(p, visitors=20_000, search_events=3_000)
    p.set_defaults(run=simulate_command)
    return parser


def port(value: str) -> int:
    """A TCP port number, for argparse: anything else is a usage error naming what is allowed."""
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 1 to 65535, got {value!r}")
    return int(value)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"mvt {args.command}: {environment_errors(exc)}", file=sys.stderr)
        return 2
    try:
        status: int = args.run(args, settings)
        return status
    except CommandError as exc:
        print(f"mvt {args.command}: {exc}", file=sys.stderr)
        return 2
