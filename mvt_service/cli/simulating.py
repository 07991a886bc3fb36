"""`mvt simulate` and `mvt demo`: the simulated shop driving a service through its HTTP API."""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

from mvt_service.app import create_app
from mvt_service.cli.common import ApiClient, CommandError
from mvt_service.cli.serving import serving
from mvt_service.cli.status import StatusLine
from mvt_service.settings import Settings
from policy.experiment import CANDIDATE_SHARE
from replay.html import render_report
from simulator.chart import render_simulation
from simulator.run import Api, SimulationResult, simulate
from simulator.shop import Shop, ShopConfig
from simulator.timeline import SimulatedTime, Timeline, WallTime


@contextlib.contextmanager
def service(url: str | None, settings: Settings, seed: int) -> Iterator[tuple[Api, Timeline]]:
    """The API to drive, over real HTTP, and the simulation's time: a running service at
    ``url`` on the wall clock, or an embedded one started on a loopback port of this process,
    whose clock is the simulated time (:mod:`simulator.timeline`)."""
    with contextlib.ExitStack() as stack:
        timeline: Timeline
        if url is None:
            timeline = simulated = SimulatedTime()
            embedded = settings.model_copy(
                update={
                    "mongo_uri": None,
                    "data_path": None,
                    "train_in_process": False,
                    "demo": False,
                    "seed": seed,
                    "log_flush_seconds": 0.05,
                }
            )
            url = stack.enter_context(serving(create_app(embedded, clock=simulated.clock)))
        else:
            timeline = WallTime()
        client = ApiClient(url)
        stack.callback(client.close)
        yield client, timeline


def run_simulation(args: argparse.Namespace, settings: Settings) -> tuple[SimulationResult, Path]:
    shop = Shop(ShopConfig(reward=args.reward))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    status = StatusLine()

    def progress(n: int, total: int, doing: str) -> None:
        if doing or n % 1000 == 0 or n == total:
            status.show(f"visitors {n:,}/{total:,}" + (f": {doing}…" if doing else ""))

    with status, service(args.url, settings, args.seed) as (api, timeline):
        if args.url and not args.replace and _exists(api, args.experiment):
            raise CommandError(
                f"experiment `{args.experiment}` exists on {args.url}: the simulation would replace it and "
                "its traffic; give --replace to do so, or --experiment with another name"
            )
        result = simulate(
            api,
            shop,
            experiment_id=args.experiment,
            drift_at=args.drift_at,
            visitors=args.visitors,
            train_every=args.train_every,
            epsilon=args.epsilon,
            candidate_share=args.candidate_share,
            seed=args.seed,
            search_events=args.search_events,
            progress=progress,
            timeline=timeline,
        )
        reports = api("GET", f"/v1/experiments/{args.experiment}/reports")
        if reports:
            latest = api("GET", f"/v1/experiments/{args.experiment}/reports/latest")
            (out / "replay-report.html").write_text(render_report(latest))
    (out / "simulation.json").write_text(json.dumps(result.as_dict(), indent=2))
    (out / "simulation.html").write_text(render_simulation(result))
    return result, out


def _exists(api: Api, experiment: str) -> bool:
    return any(e["id"] == experiment for e in api("GET", "/v1/experiments"))


def print_result(result: SimulationResult, out: Path) -> None:
    f = result.final
    print(f"{result.visitors:,} visitors in {result.seconds:.0f} s")
    if not result.reproducible:
        print("(on the service's own clock, in real time: another run with this seed will give other figures)")
    print(
        f"final greedy policy v{f['policy_version']}: {f['greedy']:.4f} per visitor = "
        f"{f['fraction_of_oracle']:.1%} of the oracle ({f['oracle']:.4f}), "
        f"{f['uplift_over_best_fixed']:+.1%} vs the best single layout ({f['best_fixed']:.4f}); "
        f"uniform {f['uniform']:.4f}"
    )
    promoted, rejected = result.promotions
    print(f"policies: {promoted} promoted, {rejected} rejected")
    print(f"visitors served: {result.served_share:.1%} of the oracle's reward over the whole run")
    if result.served_share_after_drift is not None:
        print(f"  after the change of tastes at visitor {result.drift_at:,}: {result.served_share_after_drift:.1%}")
    first = result.first_promotion
    print(f"first policy promoted: {'after ' + format(first, ',') + ' visitors' if first else 'never'}")
    reached = result.visitors_to_90
    print(f"90% of the oracle: {'reached after ' + format(reached, ',') + ' visitors' if reached else 'not reached'}")
    covered, checked = result.replay_coverage
    print(f"replay honesty: the interval held the served policy's true value in {covered} of {checked} cycles")
    for c in result.cycles:
        estimate = (
            "-"
            if c.estimate is None
            else (f"{c.estimate['value']:.4f} [{c.estimate['low']:.4f}, {c.estimate['high']:.4f}]")
        )
        print(
            f"  after {c.visitors:>7,} visitors: {c.mode or '-':<9} {c.events:>6,} events {c.seconds:5.1f} s, "
            f"learner {c.status:<8} serving v{c.served_version:<3} true {c.true_value:.4f} "
            f"({c.fraction_of_oracle:5.1%} of oracle), replay {estimate}"
        )
    print(f"\nchart:         {out / 'simulation.html'}\nfigures:       {out / 'simulation.json'}")
    if (out / "replay-report.html").exists():
        print(f"replay report: {out / 'replay-report.html'}")


def simulate_command(args: argparse.Namespace, settings: Settings) -> int:
    """Run the simulated shop against a service and report how well it learned."""
    if args.train_every < 1 or args.visitors < 1:
        raise CommandError("--visitors and --train-every must be positive")
    print_result(*run_simulation(args, settings))
    return 0


def add_arguments(p: argparse.ArgumentParser, visitors: int, search_events: int) -> None:
    p.add_argument("--visitors", type=int, default=visitors, help=f"simulated page views (default {visitors:,})")
    p.add_argument("--train-every", type=int, default=5000, help="run a training cycle every N visitors")
    p.add_argument(
        "--search-events",
        type=int,
        default=search_events,
        help="training examples the policy search samples, the experiment's training.search.max_events "
        f"(default {search_events:,})",
    )
    p.add_argument("--epsilon", type=float, default=0.2, help="exploration rate of the experiment")
    p.add_argument(
        "--candidate-share",
        type=float,
        default=None,
        help=f"the share of epsilon that serves the candidate's choice (default: the service's, {CANDIDATE_SHARE:g})",
    )
    p.add_argument("--reward", choices=["click", "order"], default="click", help="clicks or order values")
    p.add_argument(
        "--seed",
        type=int,
        default=1,
        help="seed of the simulation: on the embedded service (no --url) it fixes every figure but the durations",
    )
    p.add_argument(
        "--drift-at",
        type=int,
        default=None,
        metavar="N",
        help="the visitors' tastes change from visitor N on (the best layouts move)",
    )
    p.add_argument("--out", default="mvt-simulation", help="folder for the chart, figures and replay report")
    p.add_argument(
        "--url",
        default=None,
        help="a running service instead of an embedded one (MVT_API_KEY); it runs on its own clock, in real "
        "time, so its figures cannot be reproduced",
    )
    p.add_argument("--experiment", default="shop", help="the experiment the simulation creates (default shop)")
    p.add_argument(
        "--replace",
        action="store_true",
        help="with --url: replace the experiment if the service has one of that name (refused otherwise)",
    )
