"""HTTP benchmark: POST /v1/decisions against GET /healthz on the same single-worker server, and
reward ingestion.

Starts ``mvt serve`` on a free loopback port (embedded store), creates an experiment of 8 arms
(2 × 2 × 2 factors), then drives each endpoint with wrk (Debian package ``wrk``) for the same
duration and number of connections: ``/healthz``; ``/v1/decisions`` with 5 context features
(decisions logged as in production); ``/v1/rewards`` with batches of 100 rewards, each of a new
event id. Prints throughput, latency percentiles, rewards/s and the decisions/healthz ratios.

    python bench/http_bench.py [--seconds 15] [--connections 16] [--json results.json]

wrk runs on one thread, so on a 2-core machine the server has one core and the load generator
the other. Traffic goes to 127.0.0.1 only, bounded by ``--seconds``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

EXPERIMENT = {"factors": {"hero": ["big", "small"], "cta": ["green", "blue"], "headline": ["value", "urgency"]}}
DECISION = {
    "experiment": "bench8",
    "context": {"device": "mobile", "geo": "DE", "referrer": "google", "returning": True, "visits": 3},
}
REWARDS_PER_POST = 100
REWARD_BATCHES = f"""counter = 0
request = function()
  counter = counter + 1
  local items = {{}}
  for i = 1, {REWARDS_PER_POST} do items[i] = string.format('{{"event_id":"w%d-%d","reward":1}}', counter, i) end
  return wrk.format("POST", nil, {{["Content-Type"] = "application/json"}}, "[" .. table.concat(items, ",") .. "]")
end
"""
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("server did not become ready")
        time.sleep(0.2)


def post(body: dict) -> str:
    """A wrk script that posts ``body`` as JSON."""
    return (
        f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(json.dumps(body))}\n"
    )


def run_wrk(url: str, seconds: int, connections: int, requests: str) -> dict[str, float]:
    """Run wrk once with the ``requests`` script; return requests/s and latency percentiles in
    milliseconds."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(requests)
        script.write(
            "done = function(summary, latency, requests)\n"
            "  io.write(string.format('errors %d\\n', summary.errors.status + summary.errors.connect"
            " + summary.errors.read + summary.errors.write + summary.errors.timeout))\n"
            "  for _, p in pairs({50, 90, 99, 99.9}) do\n"
            "    io.write(string.format('p%g %d\\n', p, latency:percentile(p)))\n"
            "  end\nend\n"
        )
    try:
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", script.name, url],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        os.unlink(script.name)
    result = {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
    }
    for name, micros in re.findall(r"^(p[\d.]+) (\d+)$", out, re.M):
        result[f"{name}_ms"] = int(micros) / 1000
    result["errors"] = int(re.search(r"^errors (\d+)$", out, re.M).group(1))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=15, help="duration of each measured run")
    parser.add_argument("--connections", type=int, default=16, help="concurrent keep-alive connections")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MVT_PORT": str(port), "MVT_HOST": "127.0.0.1", "MVT_SPOOL_DIR": tempfile.mkdtemp()}
    env.pop("MVT_MONGO_URI", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "mvt_service.cli", "--log-level", "warning", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_ready(base)
        request = urllib.request.Request(
            f"{base}/v1/experiments/bench8",
            json.dumps(EXPERIMENT).encode(),
            {"content-type": "application/json"},
            method="PUT",
        )
        urllib.request.urlopen(request, timeout=10).close()
        results = {}
        for name, path, requests in [
            ("healthz", "/healthz", ""),
            ("decisions", "/v1/decisions", post(DECISION)),
            ("rewards", "/v1/rewards", REWARD_BATCHES),
        ]:
            run_wrk(f"{base}{path}", 3, args.connections, requests)  # warm-up
            results[name] = run_wrk(f"{base}{path}", args.seconds, args.connections, requests)
    finally:
        server.terminate()
        server.wait(timeout=30)

    h, d = results["healthz"], results["decisions"]
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "connections": args.connections,
        "seconds": args.seconds,
        **results,
        # only posts answered 202 count: a 503 means the queue was full and the rewards were refused
        "rewards_per_second": round(
            (results["rewards"]["requests"] - results["rewards"]["errors"]) * REWARDS_PER_POST / args.seconds
        ),
        "throughput_ratio": round(d["rps"] / h["rps"], 3),
        "p99_ratio": round(d["p99_ms"] / h["p99_ms"], 3),
    }
    print(f"{'endpoint':<12}{'req/s':>10}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for name, r in results.items():
        print(f"{name:<12}{r['rps']:>10.0f}{r['p50_ms']:>9.2f}{r['p90_ms']:>9.2f}{r['p99_ms']:>9.2f}{r['errors']:>8}")
    print(f"decisions/healthz: throughput {report['throughput_ratio']:.2f}, p99 latency {report['p99_ratio']:.2f}")
    print(
        f"reward ingestion: {report['rewards_per_second']:,} rewards/s accepted (202) in batches of "
        f"{REWARDS_PER_POST}; the rest were refused with 503 while the queue was full"
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
