"""`mvt train`, `mvt search` and `mvt trainer`."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, TypeVar

from mvt_service import metrics
from mvt_service.app import owner_id
from mvt_service.cli.common import CommandError, call_api, open_store, print_table
from mvt_service.settings import Settings
from policy.experiment import Experiment
from trainer.schedule import Scheduler, TrainingBusy, TrainingFailed

T = TypeVar("T")
log = logging.getLogger(__name__)


def print_cycle(summary: dict[str, Any]) -> None:
    join = summary["join"]
    rows = [
        ("experiment", summary["experiment"]),
        ("status", f"{summary['status']}: {summary['reason']}"),
        ("version", summary["version"] if summary["version"] is not None else "-"),
        (
            "examples",
            f"{join.get('examples', 0):,} of {join.get('decisions', 0):,} decisions; "
            f"{summary['events']:,} learned, each scored by a version that had not learned it "
            f"({join.get('defaulted', 0):,} with the default reward, "
            f"{join.get('not_activated', 0):,} never activated)",
        ),
        (
            "rewards",
            f"{join.get('rewards_joined', 0):,} joined, {join.get('rewards_late', 0):,} after the window, "
            f"{join.get('rewards_early', 0):,} before the decision",
        ),
        ("train time", f"{summary['train_seconds']:.2f} s"),
    ]
    for name, value in rows:
        print(f"{name:<12}{value}")


def print_search(result: dict[str, Any]) -> None:
    print(f"{result['method']} ({result['seconds']:.1f} s)")
    rows = []
    for trial in result["trials"]:
        estimate = trial["estimate"]
        rows.append(
            [
                "*" if trial["chosen"] else "",
                trial["vw_args"],
                trial["passes"],
                "-" if estimate is None else f"{estimate['value']:.4f}",
                "-" if estimate is None else f"[{estimate['low']:.4f}, {estimate['high']:.4f}]",
                f"{trial['seconds']:.1f}",
                trial["status"],
            ]
        )
    print_table(["", "settings", "passes", result["metric"], "interval", "seconds", "status"], rows)


def train(args: argparse.Namespace, settings: Settings) -> int:
    """Run one training cycle of an experiment now, via a running service or on MongoDB."""
    if args.url:
        print(f"training `{args.experiment}` on {args.url}: a cycle takes seconds to minutes…", file=sys.stderr)
        print_cycle(call_api(args.url, "POST", f"/v1/experiments/{args.experiment}/train"))
    else:
        print_cycle(asdict(_locally(args, settings, Scheduler.train_now)))
    return 0


def search(args: argparse.Namespace, settings: Settings) -> int:
    """Search an experiment's learning settings now, via a running service or on MongoDB."""
    if args.url:
        print(f"searching `{args.experiment}`'s settings on {args.url}: this takes a minute or more…", file=sys.stderr)
        print_search(call_api(args.url, "POST", f"/v1/experiments/{args.experiment}/search"))
    else:
        print_search(_locally(args, settings, Scheduler.search_now).as_dict())
    return 0


def _locally(args: argparse.Namespace, settings: Settings, job: Callable[[Scheduler, Experiment], T]) -> T:
    """Run ``job`` on the experiment ``args.experiment`` of the store, under its training lease."""
    store = open_store(settings, "train")
    experiment = store.experiments.get(args.experiment)
    if experiment is None:
        raise CommandError(f"experiment `{args.experiment}` does not exist")
    scheduler = Scheduler(
        store,
        owner_id("cli"),
        lease_seconds=settings.trainer_lease_seconds,
        progress=lambda n: print(f"trained {n:,} examples", file=sys.stderr, flush=True),
        failed=metrics.count_training_failure,
    )
    try:
        return job(scheduler, experiment)
    except (TrainingBusy, TrainingFailed) as exc:
        raise CommandError(str(exc)) from exc


def trainer(args: argparse.Namespace, settings: Settings) -> int:
    """Run the training schedule until SIGTERM or Ctrl-C (or once, with --once)."""
    store = open_store(settings, "trainer")
    scheduler = Scheduler(
        store,
        owner_id("trainer"),
        lease_seconds=settings.trainer_lease_seconds,
        progress=lambda n: log.info("trained %s examples", f"{n:,}"),
        failed=metrics.count_training_failure,
    )
    if args.once:
        for summary in scheduler.run_due():
            log.info("training cycle of %s: %s (%s)", summary.experiment, summary.status, summary.reason)
        return 0
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    log.info("trainer running; checking for due experiments every %.0f s", settings.trainer_poll_seconds)
    scheduler.run_forever(stop, settings.trainer_poll_seconds)
    return 0
