"""`mvt replay` (reports and log-file estimates) and `mvt export`."""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

from fastapi.encoders import jsonable_encoder

from mvt_service.cli.common import CommandError, call_api, json_text, open_store
from mvt_service.settings import Settings
from policy.records import utcnow
from replay import numbers
from replay.evaluation import evaluate
from replay.html import comparison_sentence, render_report, scored_by, verdict_sentence
from replay.logfile import LogFileError, read_events
from trainer.export import dsjson_lines
from trainer.join import closed_examples


def replay(args: argparse.Namespace, settings: Settings) -> int:
    """Print the newest replay report of an experiment, or estimate policies from a log file."""
    if args.action == "estimate":
        return replay_estimate(args)
    if not args.experiment:
        raise CommandError("give --experiment ID (or use `mvt replay estimate --logs FILE`)")
    if args.url:
        report = call_api(args.url, "GET", f"/v1/experiments/{args.experiment}/reports/latest")
    else:
        reports = open_store(settings, "replay").reports.list(args.experiment, limit=1)
        if not reports:
            raise CommandError(f"experiment `{args.experiment}` has no replay report yet")
        report = jsonable_encoder(reports[0].document)
    print_report(report)
    if args.html:
        with open(args.html, "w", encoding="utf-8") as f:
            f.write(render_report(report))
        print(f"\nHTML report written to {args.html}")
    return 0


def print_report(report: dict[str, Any]) -> None:
    metric = report["comparison"]["metric"] if report.get("comparison") else "dr"
    split = report["split"]
    print(f"replay report of {report['experiment']}, {numbers.moment(report['created_at'])}")
    print(f"{report.get('mode', 'new')} learner: {split['events']:,} events, {scored_by(report)}\n")
    width = max([len(p["name"]) for p in report["policies"]] + [6])
    print(f"{'policy':<{width}}  {metric.upper():>9}  {int(report['confidence'] * 100)}% interval")
    for p in report["policies"]:
        e = p["estimates"][metric]
        print(f"{p['name']:<{width}}  {numbers.value(e['value']):>9}  {numbers.interval(e['low'], e['high'])}")
    comparison = f"\n{comparison_sentence(report)}" if report.get("comparison") else ""
    print(f"\n{verdict_sentence(report)}{comparison}")


def replay_estimate(args: argparse.Namespace) -> int:
    """Estimate a target policy's value from a JSON-lines log (format in the README)."""
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
    print(
        json_text(
            {
                **out,
                "n": events.log.n,
                "ess": result.ess,
                "max_weight": result.max_weight,
                "confidence": args.confidence,
            }
        )
    )
    return 0


def export(args: argparse.Namespace, settings: Settings) -> int:
    """Write an experiment's joined log as DSJSON, to a file or standard output; exit 1, saying
    why, when there is nothing to export."""
    written = 0
    with open(args.output, "wb") if args.output else contextlib.nullcontext(sys.stdout.buffer) as out:
        if args.url:
            path = f"/v1/experiments/{args.experiment}/export?format={args.format}"
            with call_api(args.url, "GET", path, raw=True) as response:
                for line in response:
                    out.write(line)
                    written += 1
        else:
            store = open_store(settings, "export")
            experiment = store.experiments.get(args.experiment)
            if experiment is None:
                raise CommandError(f"experiment `{args.experiment}` does not exist")
            for line in dsjson_lines(closed_examples(store, experiment, utcnow()), experiment.arms):
                out.write(line)
                written += 1
    if not written:
        print(
            f"mvt export: nothing to export: no decision of `{args.experiment}` has a closed attribution "
            "window yet (reward.window_seconds after it was made)",
            file=sys.stderr,
        )
        return 1
    return 0
