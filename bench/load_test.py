"""Load test: a paced stream of decisions and rewards against a local service, then an exact
audit of what the store holds.

    python bench/load_test.py [--seconds 60] [--rate 400] [--reward-share 0.3] [--clients 2]

Starts the service in this process on a loopback port (embedded store, demo experiment
``home``), and ``--clients`` load processes that each send their share of ``--rate`` decisions
per second for ``--seconds`` seconds, and post a reward (in batches of 20) for
``--reward-share`` of them. Each process records the decisions and rewards the service
accepted. Then the service shuts down (draining its log) and the store must hold exactly the
accepted decisions and rewards: none missing, none twice, none extra.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mvt_service.app import create_app
from mvt_service.cli.common import ApiClient, CommandError
from mvt_service.cli.serving import serving
from mvt_service.routes.rewards import DEFAULT_REWARD_ID
from mvt_service.settings import Settings
from store import mongo

CONTEXT_VALUES = {
    "device": ["mobile", "desktop", "tablet"],
    "geo": ["DE", "FR", "US", "UK"],
    "referrer": ["google", "direct", "email"],
    "returning": [True, False],
    "visits": [1, 2, 5, 9],
}


@dataclass
class Accepted:
    """What one load process saw accepted, and its decision latencies in milliseconds."""

    decisions: list[str] = field(default_factory=list)
    rewards: list[tuple[str, str]] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    errors: int = 0


def load(url: str, seconds: float, rate: float, reward_share: float, seed: int) -> Accepted:
    """Send ``rate`` decisions per second for ``seconds`` seconds; post rewards for a share."""
    rng = random.Random(seed)
    api = ApiClient(url)
    seen = Accepted()
    batch: list[dict[str, Any]] = []

    def post_rewards() -> None:
        try:
            if api("POST", "/v1/rewards", batch)["accepted"] == len(batch):
                seen.rewards += [(r["event_id"], DEFAULT_REWARD_ID) for r in batch]
        except CommandError:
            seen.errors += 1
        batch.clear()

    started = time.monotonic()
    n = 0
    while (now := time.monotonic()) - started < seconds:
        due = started + n / rate
        if due > now:
            time.sleep(due - now)
        n += 1
        context = {k: rng.choice(v) for k, v in CONTEXT_VALUES.items()}
        sent = time.perf_counter()
        try:
            answer = api("POST", "/v1/decisions", {"experiment": "home", "context": context})
        except CommandError:
            seen.errors += 1
            continue
        seen.latencies.append((time.perf_counter() - sent) * 1000)
        seen.decisions.append(answer["event_id"])
        if rng.random() < reward_share:
            batch.append({"event_id": answer["event_id"], "reward": 1.0})
            if len(batch) == 20:
                post_rewards()
    if batch:
        post_rewards()
    api.close()
    return seen


def run(seconds: float, rate: float, reward_share: float, clients: int) -> dict[str, Any]:
    """Run the load test; return its figures and the audit's verdict."""
    backend = mongo.embedded()
    settings = Settings(_env_file=None, mongo_uri=None, train_in_process=False, spool_dir=tempfile.mkdtemp())
    with (
        serving(create_app(settings, backend=backend)) as url,
        multiprocessing.get_context("spawn").Pool(clients) as pool,
    ):
        results = pool.starmap(load, [(url, seconds, rate / clients, reward_share, seed) for seed in range(clients)])
    # the service has shut down and drained its log
    decisions = [d for r in results for d in r.decisions]
    rewards = [k for r in results for k in r.rewards]
    latencies = sorted(x for r in results for x in r.latencies)
    store = backend.store()
    stored_decisions = [
        d.event_id for d in store.events.decisions_between("home", None, datetime(9999, 1, 1, tzinfo=UTC))
    ]
    stored_rewards = list(store.events.reward_ids())
    return {
        "seconds": seconds,
        "decisions": len(decisions),
        "rewards": len(rewards),
        "decisions_per_second": len(decisions) / seconds,
        "errors": sum(r.errors for r in results),
        "p50_ms": statistics.quantiles(latencies, n=100)[49],
        "p99_ms": statistics.quantiles(latencies, n=100)[98],
        "stored_decisions": len(stored_decisions),
        "stored_rewards": len(stored_rewards),
        "exact": sorted(stored_decisions) == sorted(decisions) and sorted(stored_rewards) == sorted(rewards),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=400, help="decisions per second, all clients together")
    parser.add_argument("--reward-share", type=float, default=0.3)
    parser.add_argument("--clients", type=int, default=2)
    args = parser.parse_args()
    figures = run(args.seconds, args.rate, args.reward_share, args.clients)
    print(
        f"{figures['decisions']:,} decisions ({figures['decisions_per_second']:,.0f}/s) and {figures['rewards']:,} "
        f"rewards accepted in {figures['seconds']:.0f} s, {figures['errors']} errors; decision latency "
        f"p50 {figures['p50_ms']:.2f} ms, p99 {figures['p99_ms']:.2f} ms"
    )
    print(
        f"store: {figures['stored_decisions']:,} decisions, {figures['stored_rewards']:,} rewards: "
        f"{'exactly what was accepted' if figures['exact'] else 'MISMATCH'}"
    )
    return 0 if figures["exact"] and not figures["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
