"""Decision latency while a training cycle runs in the serving process, against the same service
idle, in one run.

    python bench/training_latency.py [--visitors 20000] [--rate 200] [--idle-seconds 15]

Starts ``mvt serve`` on a free loopback port (embedded store, which trains in process), drives
``--visitors`` simulated shop visitors through it (decisions and click rewards), waits for their
attribution windows to close, then measures decision latency from a paced client process
(``--rate`` decisions per second, one keep-alive connection): first for ``--idle-seconds`` with
nothing else running, then for as long as a ``POST /v1/experiments/shop/train`` takes. Prints
p50, p99 and the largest latency of both phases and the ratio of the p99s (the target is at most
2). Traffic goes to 127.0.0.1 only and stops by itself.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.http_bench import free_port, wait_ready
from mvt_service.cli.common import ApiClient
from simulator.shop import Shop


def paced(url: str, rate: float, seconds: float, stop: Any, ready: Any, results: Any) -> None:
    """Send decisions at ``rate`` per second for ``seconds`` or until ``stop.value`` is set;
    put the latencies in milliseconds on ``results``."""
    api, shop, rng = ApiClient(url), Shop(), random.Random(7)
    ready.set()
    latencies, n, started = [], 0, time.monotonic()
    while not stop.value and (now := time.monotonic()) - started < seconds:
        due = started + n / rate
        if due > now:
            time.sleep(due - now)
        n += 1
        sent = time.perf_counter()
        api("POST", "/v1/decisions", {"experiment": "shop", "context": shop.visitor(rng)})
        latencies.append((time.perf_counter() - sent) * 1000)
    api.close()
    results.put(latencies)


def run_phase(url: str, rate: float, seconds: float, work: Callable[[], object] | None = None) -> dict[str, float]:
    """Latencies of the paced client over ``seconds``, or while ``work()`` runs."""
    context = multiprocessing.get_context("spawn")
    ready, results, stop = context.Event(), context.Queue(), context.Value("d", 0.0)
    process = context.Process(target=paced, args=(url, rate, seconds, stop, ready, results))
    process.start()
    ready.wait(60)
    if work is not None:
        work()
        stop.value = 1.0
    latencies = results.get(timeout=seconds + 60)
    process.join()
    return summary(latencies)


def summary(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "p50_ms": round(statistics.quantiles(ordered, n=100)[49], 2),
        "p99_ms": round(statistics.quantiles(ordered, n=100)[98], 2),
        "max_ms": round(ordered[-1], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visitors", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--idle-seconds", type=float, default=15.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # trains in process (as the embedded store does), but only when asked: the schedule sleeps
    env = {
        **os.environ,
        "MVT_PORT": str(port),
        "MVT_SPOOL_DIR": tempfile.mkdtemp(),
        "MVT_DATA_PATH": "",  # a temporary store
        "MVT_DEMO": "false",
        "MVT_TRAIN_IN_PROCESS": "true",
        "MVT_TRAINER_POLL_SECONDS": "86400",
    }
    env.pop("MVT_MONGO_URI", None)
    server = subprocess.Popen([sys.executable, "-m", "mvt_service.cli", "--log-level", "warning", "serve"], env=env)
    try:
        wait_ready(url)
        api, shop, rng = ApiClient(url), Shop(), random.Random(1)
        api(
            "PUT",
            "/v1/experiments/shop",
            shop.experiment(0.2, training={"min_events": 1000, "interval_seconds": 10**7}),
        )
        clicks: list[dict[str, Any]] = []
        for _ in range(args.visitors):
            context = shop.visitor(rng)
            answer = api("POST", "/v1/decisions", {"experiment": "shop", "context": context})
            if shop.draw_reward(context, shop.layout_ids.index(answer["action"]), rng):
                clicks.append({"event_id": answer["event_id"], "reward": 1.0})
            if len(clicks) == 500:
                api("POST", "/v1/rewards", clicks)
                clicks = []
        if clicks:
            api("POST", "/v1/rewards", clicks)
        time.sleep(shop.config.window_seconds + 1.0)  # the attribution windows close

        idle = run_phase(url, args.rate, args.idle_seconds)
        cycle: dict[str, Any] = {}

        def train() -> None:
            started = time.monotonic()
            cycle.update(ApiClient(url)("POST", "/v1/experiments/shop/train"))
            cycle["seconds"] = round(time.monotonic() - started, 1)

        training = run_phase(url, args.rate, 3600.0, train)
    finally:
        server.terminate()
        server.wait(timeout=60)
    report = {
        "rate": args.rate,
        "visitors": args.visitors,
        "idle": idle,
        "during_training": training,
        "cycle": {k: cycle.get(k) for k in ("status", "seconds", "mode", "events")},
        "p99_ratio": round(training["p99_ms"] / idle["p99_ms"], 2),
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
