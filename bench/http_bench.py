"""HTTP benchmark: POST /v1/decisions against GET /healthz on the same single-worker server.

Starts ``mvt serve`` on a free loopback port (embedded store, demo experiment ``home``: 12 arms),
then drives each endpoint with wrk (Debian package ``wrk``) for the same duration and number of
connections, and prints throughput, latency percentiles and the decisions/healthz ratios.

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

DECISION = {"experiment": "home", "context": {"device": "mobile", "geo": "DE", "referrer": "google",
                                              "returning": True, "visits": 3}}
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


def run_wrk(url: str, seconds: int, connections: int, body: dict | None) -> dict[str, float]:
    """Run wrk once; return requests/s and latency percentiles in milliseconds."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        if body is not None:
            script.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n')
            script.write(f"wrk.body = {json.dumps(json.dumps(body))}\n")
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
            check=True, capture_output=True, text=True,
        ).stdout
    finally:
        os.unlink(script.name)
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
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
    env = {**os.environ, "MVT_PORT": str(port), "MVT_HOST": "127.0.0.1"}
    env.pop("MVT_MONGO_URI", None)
    server = subprocess.Popen([sys.executable, "-m", "mvt_service.cli", "--log-level", "warning", "serve"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_ready(base)
        results = {}
        for name, path, body in [("healthz", "/healthz", None), ("decisions", "/v1/decisions", DECISION)]:
            run_wrk(f"{base}{path}", 3, args.connections, body)  # warm-up
            results[name] = run_wrk(f"{base}{path}", args.seconds, args.connections, body)
    finally:
        server.terminate()
        server.wait(timeout=30)

    h, d = results["healthz"], results["decisions"]
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "connections": args.connections,
        "seconds": args.seconds,
        **results,
        "throughput_ratio": round(d["rps"] / h["rps"], 3),
        "p99_ratio": round(d["p99_ms"] / h["p99_ms"], 3),
    }
    print(f"{'endpoint':<12}{'req/s':>10}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for name, r in results.items():
        print(f"{name:<12}{r['rps']:>10.0f}{r['p50_ms']:>9.2f}{r['p90_ms']:>9.2f}{r['p99_ms']:>9.2f}{r['errors']:>8}")
    print(f"decisions/healthz: throughput {report['throughput_ratio']:.2f}, p99 latency {report['p99_ratio']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
