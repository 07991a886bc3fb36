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
import urllib.parse
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


def check_binding(settings: Settings) -> None:
    """Refuse to serve without API keys on any address but loopback.

    Raises
    ------
    CommandError
        When no keys are configured and ``settings.host`` is not a loopback address.
    """
    from mvt_service.auth import KeyRing, is_loopback

    if KeyRing.from_settings(settings.client_keys, settings.operator_keys).open and not is_loopback(settings.host):
        raise CommandError(
            f"refusing to serve on {settings.host} without API keys: anyone could change experiments. "
            "Set MVT_CLIENT_KEYS and MVT_OPERATOR_KEYS, or bind to 127.0.0.1."
        )


def serve(args: argparse.Namespace, settings: Settings) -> int:
    """Run the HTTP API with uvicorn until interrupted."""
    import uvicorn

    from mvt_service.app import create_app

    settings = settings.model_copy(update={"host": args.host or settings.host, "port": args.port or settings.port})
    check_binding(settings)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=args.log_level)
    return 0


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


def replay(args: argparse.Namespace, settings: Settings) -> int:
    """Print the newest replay report of an experiment, or estimate policies from a log file."""
    if args.action == "estimate":
        return replay_estimate(args)
    if not args.experiment:
        raise CommandError("give --experiment ID (or use `mvt replay estimate --logs FILE`)")
    from fastapi.encoders import jsonable_encoder

    from replay.html import render_report

    if args.url:
        report = call_api(args.url, "GET", f"/v1/experiments/{args.experiment}/reports/latest")
    else:
        reports = open_store(settings, "replay").list_reports(args.experiment, limit=1)
        if not reports:
            raise CommandError(f"experiment `{args.experiment}` has no replay report yet")
        report = jsonable_encoder(reports[0])
    print_report(report)
    if args.html:
        with open(args.html, "w", encoding="utf-8") as f:
            f.write(render_report(report))
        print(f"\nHTML report written to {args.html}")
    return 0


def print_report(report: dict[str, Any]) -> None:
    from replay.html import verdict_sentence

    metric = report["comparison"]["metric"] if report.get("comparison") else "dr"
    split = report["split"]
    print(f"replay report of {report['experiment']}, {report['created_at']}")
    print(f"trained on {split['train_events']:,} events, evaluated on {split['holdout_events']:,} held-out events\n")
    width = max([len(p["name"]) for p in report["policies"]] + [6])
    print(f"{'policy':<{width}}  {metric.upper():>9}  {int(report['confidence'] * 100)}% interval")
    for p in report["policies"]:
        e = p["estimates"][metric]
        print(f"{p['name']:<{width}}  {e['value']:>9.4f}  [{e['low']:.4f}, {e['high']:.4f}]")
    print(f"\n{verdict_sentence(report)}\n{report['verdict']['reason']}")


def replay_estimate(args: argparse.Namespace) -> int:
    """Estimate a target policy's value from a JSON-lines log (format in the README)."""
    from replay.evaluation import evaluate
    from replay.logfile import LogFileError, read_events

    if not args.logs:
        raise CommandError("give --logs FILE")
    try:
        with open(args.logs, encoding="utf-8") as f:
            events = read_events(f)
    except OSError as exc:
        raise CommandError(f"cannot read {args.logs}: {exc.strerror}") from exc
    except LogFileError as exc:
        raise CommandError(f"{args.logs} has invalid lines:\n" + "\n".join(exc.problems)) from exc
    result = evaluate(events.log, events.target, args.confidence)
    out = {m: e.as_dict() for m, e in result.estimates.items()}
    print(json.dumps({**out, "n": events.log.n, "ess": result.ess, "max_weight": result.max_weight,
                      "confidence": args.confidence}, indent=2))
    return 0


def export(args: argparse.Namespace, settings: Settings) -> int:
    """Write an experiment's joined log as DSJSON, to a file or standard output."""
    out = open(args.output, "wb") if args.output else sys.stdout.buffer
    try:
        if args.url:
            path = f"/v1/experiments/{args.experiment}/export?format={args.format}"
            with call_api(args.url, "GET", path, raw=True) as response:
                for line in response:
                    out.write(line)
        else:
            from trainer.export import dsjson_lines
            from trainer.join import closed_examples
            from trainer.records import utcnow

            store = open_store(settings, "export")
            experiment = store.get_experiment(args.experiment)
            if experiment is None:
                raise CommandError(f"experiment `{args.experiment}` does not exist")
            for line in dsjson_lines(closed_examples(store, experiment, utcnow()), experiment.arms):
                out.write(line)
    finally:
        if args.output:
            out.close()
    return 0


def experiments(args: argparse.Namespace, settings: Settings) -> int:
    """Operator commands against a running service (MVT_URL, MVT_API_KEY)."""
    url = args.url or "http://127.0.0.1:8000"
    if args.action == "list":
        rows = call_api(url, "GET", "/v1/experiments")
        print_table(["experiment", "arms", "epsilon", "holdout", "paused", "policy", "revision"], [
            [e["id"], f"{sum(a['enabled'] for a in e['arms'])}/{len(e['arms'])}", e["exploration"]["epsilon"],
             e["holdout"]["fraction"], "yes" if e["paused"] else "no",
             f"v{e['active_policy']}" if e["active_policy"] else "-", e["revision"]] for e in rows])
        return 0
    if not args.experiment:
        raise CommandError(f"`mvt experiments {args.action}` needs an experiment id")
    base = f"/v1/experiments/{args.experiment}"
    current = call_api(url, "GET", base)
    revision = f'"{current["revision"]}"'  # the change applies only to what was just read
    if args.action == "set-epsilon":
        if args.value is None:
            raise CommandError("give the new epsilon, e.g. `mvt experiments set-epsilon home 0.1`")
        current = call_api(url, "PATCH", f"{base}/exploration", {"epsilon": float(args.value)}, if_match=revision)
    elif args.action in ("pause", "resume"):
        current = call_api(url, "POST", f"{base}/{args.action}", if_match=revision)
    elif args.action in ("disable-arm", "enable-arm"):
        if args.value is None:
            raise CommandError(f"give the arm id, e.g. `mvt experiments {args.action} home ARM`")
        arm = urllib.parse.quote(args.value, safe="")
        current = call_api(url, "PATCH", f"{base}/arms/{arm}", {"enabled": args.action == "enable-arm"},
                           if_match=revision)
    elif args.action == "activate":
        if args.value is None or not args.value.lstrip("v").isdigit():
            raise CommandError("give the policy version, e.g. `mvt experiments activate home 3`")
        policy = call_api(url, "POST", f"{base}/policies/{int(args.value.lstrip('v'))}/activate")
        print(f"{args.experiment}: policy v{policy['version']} is active ({policy['reason']})")
        return 0
    print_experiment(current)
    return 0


def print_table(header: list[str], rows: list[list[Any]]) -> None:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
    for row in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())


def print_experiment(e: dict[str, Any]) -> None:
    print(f"experiment  {e['id']} (revision {e['revision']})")
    print(f"state       {'PAUSED: every visitor gets the default arm' if e['paused'] else 'running'}")
    print(f"policy      {'v' + str(e['active_policy']) if e['active_policy'] else 'none yet (uniform)'}")
    print(f"exploration epsilon {e['exploration']['epsilon']}, holdout {e['holdout']['fraction']}")
    print(f"reward      {e['reward']['aggregate']} within {e['reward']['window_seconds']} s, default {e['reward']['default']}")
    print()
    print_table(["arm", "enabled", "default", "features"], [
        [a["id"], "yes" if a["enabled"] else "no", "yes" if a["id"] == e["default_arm"] else "",
         ", ".join(f"{k}={v}" for k, v in a["features"].items())] for a in e["arms"]])


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
        description="Join rewards, train a candidate policy, replay it on held-out data and promote it if the "
                    "promotion gate passes. "
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

    p = commands.add_parser(
        "replay", help="show the newest replay report, or estimate policies from a log file",
        description="`mvt replay --experiment ID [--html FILE]` prints the newest replay report (and can "
                    "write it as an HTML page). `mvt replay estimate --logs FILE` reads logged bandit events "
                    "(JSON lines, format in the README) and prints the IPS, SNIPS and DR estimates of the "
                    "target policy as JSON.",
    )
    p.add_argument("action", nargs="?", choices=["report", "estimate"], default="report",
                   help="report (default) or estimate")
    p.add_argument("--experiment", help="experiment id (report)")
    p.add_argument("--html", help="also write the report as a self-contained HTML page (report)")
    p.add_argument("--url", default=os.environ.get("MVT_URL"), help="a running service (default: MVT_URL)")
    p.add_argument("--logs", help="JSON-lines file of logged events (estimate)")
    p.add_argument("--confidence", type=float, default=0.95, help="interval level (estimate; default 0.95)")
    p.set_defaults(run=replay)

    p = commands.add_parser(
        "export", help="write an experiment's joined log as Vowpal Wabbit DSJSON",
        description="Every decision whose attribution window has closed, with its joined reward, one DSJSON "
                    "object per line (readable by `vw --cb_explore_adf --dsjson`).",
    )
    p.add_argument("--experiment", required=True, help="experiment id")
    p.add_argument("--format", choices=["dsjson"], default="dsjson", help="output format (dsjson)")
    p.add_argument("--output", help="file to write (default: standard output)")
    p.add_argument("--url", default=os.environ.get("MVT_URL"), help="a running service (default: MVT_URL)")
    p.set_defaults(run=export)

    p = commands.add_parser(
        "experiments", help="operator controls of a running service",
        description="List, show and change experiments on a running service (MVT_URL, default "
                    "http://127.0.0.1:8000) with an operator key (MVT_API_KEY). Every change is "
                    "conditional on the revision just read, so a concurrent edit is never overwritten.",
        epilog="examples:\n  mvt experiments list\n  mvt experiments show home\n"
               "  mvt experiments set-epsilon home 0.05\n  mvt experiments pause home\n"
               "  mvt experiments disable-arm home 'hero=small,cta=blue,headline=value'\n"
               "  mvt experiments activate home 3",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("action", choices=["list", "show", "set-epsilon", "pause", "resume", "disable-arm",
                                      "enable-arm", "activate"])
    p.add_argument("experiment", nargs="?", help="experiment id")
    p.add_argument("value", nargs="?", help="epsilon, arm id or policy version")
    p.add_argument("--url", default=os.environ.get("MVT_URL"), help="the service (default: MVT_URL)")
    p.set_defaults(run=experiments)
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
