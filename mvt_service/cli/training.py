"""`mvt train` and `mvt trainer`."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from dataclasses import asdict
from typing import Any

from mvt_service.app import owner_id
from mvt_service.cli.common import CommandError, call_api, open_store
from mvt_service.settings import Settings
from trainer.schedule import Scheduler, TrainingBusy


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
