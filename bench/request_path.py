"""Request-path benchmark: what the app itself spends on a decision against ``GET /healthz``,
without an HTTP server and without log writes.

Calls the ASGI app in this process (one event loop, requests one after another) with the
requests of ``bench/http_bench.py`` (decisions alternating between an 8-arm and a 12-arm
experiment, 5 context features; no policy), with the log writer held back for the whole run
(``log_flush_seconds`` of an hour and a batch larger than the run), so that what is measured is
the request path alone: middleware, routing or the fast path, validation, the decision,
encoding. Prints microseconds per request and the ratio, for the fast path and the framework's
general path (``create_app(fast_path=False)``).

    python bench/request_path.py [--requests 20000]

Set against the HTTP benchmark, this tells the request path's cost from that of the HTTP server
and of the embedded store's writer, which share the interpreter with it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.http_bench import CONTEXT, EXPERIMENTS
from mvt_service.app import create_app
from mvt_service.settings import Settings

Message = dict[str, Any]


def http_scope(method: str, path: str, body: bytes = b"") -> dict[str, Any]:
    headers = [(b"host", b"bench")]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def request(app: Any, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
    """One request; returns its status and body."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(http_scope(method, path, body), receive, send)
    return int(sent[0]["status"]), b"".join(m.get("body", b"") for m in sent[1:])


async def call(app: Any, method: str, path: str, body: bytes = b"") -> int:
    """One request; returns its status."""
    return (await request(app, method, path, body))[0]


def in_process_settings(**overrides: Any) -> Settings:
    """Settings of an app called in this process: the embedded store without the demo, no
    training schedule, a spool of its own."""
    return Settings(
        _env_file=None,
        mongo_uri=None,
        train_in_process=False,
        demo=False,
        spool_dir=tempfile.mkdtemp(),
        **overrides,
    )


async def measure(fast_path: bool, requests: int) -> dict[str, float]:
    settings = in_process_settings(
        log_flush_seconds=3600,
        log_batch_size=10 * requests + 10_000,
        log_queue_max=10 * requests + 10_000,
    )
    app = create_app(settings, fast_path=fast_path)
    decisions = [orjson.dumps({"experiment": name, "context": CONTEXT}) for name in EXPERIMENTS]
    async with app.router.lifespan_context(app):
        for name, body in EXPERIMENTS.items():
            assert await call(app, "PUT", f"/v1/experiments/{name}", orjson.dumps(body)) == 201
        timings: dict[str, float] = {}
        for warm_up in (True, False):
            for name in ("healthz", "decision"):
                count = requests // 10 if warm_up else requests
                started = time.perf_counter()
                for i in range(count):
                    if name == "healthz":
                        status = await call(app, "GET", "/healthz")
                    else:
                        status = await call(app, "POST", "/v1/decisions", decisions[i % len(decisions)])
                    assert status == 200, (name, status)
                timings[name] = (time.perf_counter() - started) / count * 1e6
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20_000, help="requests of each kind per measurement")
    args = parser.parse_args()
    print(f"{'path':<14}{'healthz µs':>12}{'decision µs':>13}{'decision / healthz':>20}")
    for fast_path in (True, False):
        t = asyncio.run(measure(fast_path, args.requests))
        name = "fast path" if fast_path else "general path"
        print(f"{name:<14}{t['healthz']:>12.1f}{t['decision']:>13.1f}{t['decision'] / t['healthz']:>19.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
