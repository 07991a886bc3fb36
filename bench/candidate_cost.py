"""What a candidate costs a decision: the request path of ``POST /v1/decisions`` with a trained
policy, without and with a candidate taking part, against ``GET /healthz``.

Calls the ASGI app in this process as ``bench/request_path.py`` does (one event loop, requests
one after another, the log writer held back), on the 12-arm experiment of
``bench/http_bench.py`` served by a policy trained on 3,000 decisions. The candidate is that
policy registered again as the next version and offered by the store, as a cycle offers a
rejected learner; with ``candidate_share`` 0.5 every decision scores both models and logs the
mixture. Rounds alternate the two settings; prints microseconds per request, each setting's
ratio to ``/healthz`` measured just before it, and the ratio of those ratios (with ÷ without).

    python bench/candidate_cost.py [--requests 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.http_bench import CONTEXT, EXPERIMENTS, TRAINING_DECISIONS
from bench.request_path import call, in_process_settings, request
from mvt_service.app import create_app
from policy.records import PolicyRecord


async def answer(app: Any, method: str, path: str, body: Any = None) -> Any:
    """One request through the app; its decoded JSON answer."""
    status, data = await request(app, method, path, b"" if body is None else orjson.dumps(body))
    if status >= 300:
        raise SystemExit(f"{method} {path}: {status} {data!r}")
    return orjson.loads(data) if data else None


async def timed(app: Any, method: str, path: str, body: bytes, count: int) -> float:
    """Microseconds per request over ``count`` requests."""
    started = time.perf_counter()
    for _ in range(count):
        status = await call(app, method, path, body)
        assert status == 200, (path, status)
    return (time.perf_counter() - started) / count * 1e6


async def measure(requests: int, rounds: int) -> list[dict[str, float]]:
    app = create_app(in_process_settings(log_flush_seconds=0.05))
    async with app.router.lifespan_context(app):
        services = app.state.services
        await answer(app, "PUT", "/v1/experiments/bench12", EXPERIMENTS["bench12"])
        for i in range(TRAINING_DECISIONS):
            decision = await answer(
                app, "POST", "/v1/decisions", {"experiment": "bench12", "context": {**CONTEXT, "visits": i % 7}}
            )
            if decision["action"].startswith("hero=small") and i % 2:
                await answer(app, "POST", "/v1/rewards", {"event_id": decision["event_id"], "reward": 1})
        await asyncio.sleep(2.5)  # past the 1 s attribution window, and the log written
        cycle = await answer(app, "POST", "/v1/experiments/bench12/train")
        if cycle["status"] != "active":
            raise SystemExit(f"bench12: no policy serves: {cycle}")
        store, version = services.store, cycle["version"]
        record: PolicyRecord = store.policies.get("bench12", version)
        store.policies.insert(
            replace(record, version=version + 1, status="rejected"), store.policies.model("bench12", version)
        )
        if not store.policies.offer_candidate("bench12", version + 1, version):
            raise SystemExit("bench12: the candidate was not offered")
        decision = orjson.dumps({"experiment": "bench12", "context": CONTEXT})
        results = []
        for round_ in range(rounds + 1):  # the first is a warm-up
            row: dict[str, float] = {}
            for share in (0.0, 0.5):
                await answer(app, "PATCH", "/v1/experiments/bench12/exploration", {"candidate_share": share})
                await services.runtime.refresh()
                expected = {} if share == 0 else {"bench12": version + 1}
                served = services.runtime.served_policies("candidate")
                if served != expected:
                    raise SystemExit(f"share {share}: the worker serves the candidates {served}, not {expected}")
                count = requests // 10 if round_ == 0 else requests
                row[f"healthz {share}"] = await timed(app, "GET", "/healthz", b"", count)
                row[f"decision {share}"] = await timed(app, "POST", "/v1/decisions", decision, count)
            if round_:
                results.append(row)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20_000, help="requests of each kind per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rows = asyncio.run(measure(args.requests, args.rounds))
    print(
        "| round | healthz µs | decision µs, no candidate | ÷ healthz "
        "| decision µs, candidate (share 0.5) | ÷ healthz | with ÷ without |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    ratios = []
    for i, r in enumerate(rows, 1):
        without, with_ = r["decision 0.0"] / r["healthz 0.0"], r["decision 0.5"] / r["healthz 0.5"]
        ratios.append(with_ / without)
        print(
            f"| {i} | {r['healthz 0.0']:.1f} | {r['decision 0.0']:.1f} | {without:.2f}× | {r['decision 0.5']:.1f} "
            f"| {with_:.2f}× | {ratios[-1]:.2f} |"
        )
    print(f"\nwith ÷ without, median of {len(ratios)} rounds: {statistics.median(ratios):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
