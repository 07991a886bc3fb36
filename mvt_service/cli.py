"""The ``mvt`` command line."""

from __future__ import annotations

import argparse
import json
import os
import logging
import signal
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from mvt_service.settings import Settings, open_database

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


class CommandError(Exception):
    """A command cannot run as asked; the message says what to do instead."""


def call_api(url: str, method: str, path: str, body: Any = None) -> Any:
    """Call a running mvt service and return its JSON answer.

    Raises
    ------
    CommandError
        If the service cannot be reached or answers with an error.
    """
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{url.rstrip('/')}{path}", data=data, method=method,
                                     headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = json.loads(exc.read() or b"{}").get("detail", exc.reason)
        raise CommandError(f"{method} {path}: {exc.code} {detail}") from exc
    except urllib.error.URLError as exc:
        raise CommandError(f"cannot reach {url}: {exc.reason}") from exc


def open_store(settings: Settings, command: str):
    """The MongoDB store for commands that work on the database directly."""
    from mvt_service.store import Store

    if settings.embedded:
        raise CommandError(
            f"`mvt {command}` works on MongoDB (set MVT_MONGO_URI); the embedded store lives inside "
            "`mvt serve`, which trains in-process" + ("" if command == "trainer" else " (use --url to ask it)")
        )
    _, db = open_database(settings)
    store = Store(db)
    store.ensure_indexes()
    return store


def print_cycle(summary: dict[str, Any]) -> None:
    join = summary["join"]
    rows = [
        ("experiment", summary["experiment"]),
        ("status", f"{summary['status']}: {summary['reason']}"),
        ("version", summary["version"] if summary["version"] is not None else "-"),
        ("examples", f"{join.get('examples', 0):,} of {join.get('decisions', 0):,} decisions; "
                     f"{summary['train_events']:,} trained on, {summary['holdout_events']:,} held out "
                     f"({join.get('defaulted', 0):,} with the default reward, "
                     f"{join.get('not_activated', 0):,} never activated)"),
        ("rewards", f"{join.get('rewards_joined', 0):,} joined, {join.get('rewards_late', 0):,} after the window, "
                    f"{join.get('rewards_early', 0):,} before the decision"),
        ("train time", f"{summary['train_seconds']:.2f} s"),
    ]
    for name, value in rows:
        print(f"{name:<12}{value}")


def train(args: argparse.Namespace, settings: Settings) -> int:
    """Run one training cycle of an experiment now, via a running service or on MongoDB."""
    if args.url:
        print_cycle(call_api(args.url, "POST", f"/v1/experiments/{args.experiment}/train"))
        return 0
    from dataclasses import asdict

    from mvt_service.app import owner_id
    from trainer.schedule import Scheduler, TrainingBusy

    store = open_store(settings, "train")
    experiment = store.get_experiment(args.experiment)
    if experiment is None:
        raise CommandError(f"experiment `{args.experiment}` does not exist")
    scheduler = Scheduler(store, owner_id("cli"), lease_seconds=settings.trainer_lease_seconds,
                          progress=lambda n: print(f"trained {n:,} examples", file=sys.stderr, flush=True))
    try:
        summary = scheduler.train_now(experiment)
    except TrainingBusy as exc:
        raise CommandError(str(exc)) from exc
    print_cycle(asdict(summary))
    return 0


def trainer(args: argparse.Namespace, settings: Settings) -> int:
    """Run the training schedule until SIGTERM or Ctrl-C (or once, with --once)."""
    from mvt_service.app import owner_id
    from trainer.schedule import Scheduler

    store = open_store(settings, "trainer")
    scheduler = Scheduler(store, owner_id("trainer"), lease_seconds=settings.trainer_lease_seconds,
                          progress=lambda n: logging.info("trained %s examples", f"{n:,}"))
    if args.once:
        for summary in scheduler.run_due():
            logging.info("training cycle of %s: %s (%s)", summary.experiment, summary.status, summary.reason)
        return 0
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    logging.info("trainer running; checking for due experiments every %.0f s", settings.trainer_poll_seconds)
    scheduler.run_forever(stop, settings.trainer_poll_seconds)
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

    p = commands.add_parser(
        "train", help="run one training cycle of an experiment now",
        description="Join rewards, train a candidate policy and activate it when it has enough examples. "
                    "With --url, asks a running service; otherwise works on MongoDB (MVT_MONGO_URI) and "
                    "shows its progress.",
    )
    p.add_argument("--experiment", required=True, help="experiment id")
    p.add_argument("--url", default=os.environ.get("MVT_URL"), help="a running service (default: MVT_URL)")
    p.set_defaults(run=train)

    p = commands.add_parser(
        "trainer", help="run the training schedule as its own process (production)",
        description="Train every experiment whose training.interval_seconds has passed, on MongoDB "
                    "(MVT_MONGO_URI). Several trainers may run: a lease per experiment keeps them apart.",
    )
    p.add_argument("--once", action="store_true", help="run the due cycles once and exit")
    p.set_defaults(run=trainer)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.run(args, Settings())
    except CommandError as exc:
        print(f"mvt {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
