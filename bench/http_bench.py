"""HTTP benchmark: POST /v1/decisions against GET /healthz on the same single-worker server, and
reward ingestion.

Starts ``mvt serve`` on a free loopback port (the single-machine store, in a new temporary file)
with two experiments: ``bench8`` (8 arms, 2 × 2 × 2 factors, no policy: uniform random) and
``bench12`` (12 arms, 2 × 3 × 2, a trained policy active: the bench logs 3,000 decisions and
rewards, trains it and activates it).
Then it drives each endpoint with wrk (Debian package ``wrk``) for the same duration and number
of connections:

- ``/healthz``, the framework's own speed (the reference);
- ``/v1/decisions``, requests alternating between the two experiments, each with 5 context
  features, every decision logged as in production;
- the same decisions paced at half the rate just measured, for the latency of a worker that is
  not saturated (wrk's per-connection ``delay``, in whole milliseconds, so the rate reached is
  reported beside it);
- ``/v1/rewards``, batches of 100 rewards for decisions the service made (several rewards per
  decision, each its own ``reward_id``). Rewards/s counts the rewards the store holds when the
  writer has caught up, over the time from the first post until then; the store must hold every
  reward answered 202 (from the service's own counters).

Prints throughput, latency percentiles, the decisions/healthz ratios and rewards/s.

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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mvt_service.cli.common import ApiClient

CONTEXT = {"device": "mobile", "geo": "DE", "referrer": "google", "returning": True, "visits": 3}
EXPERIMENTS = {
    "bench8": {"factors": {"hero": ["big", "small"], "cta": ["green", "blue"], "headline": ["value", "urgency"]}},
    "bench12": {
        "factors": {"hero": ["big", "small"], "cta": ["green", "blue", "orange"], "headline": ["value", "urgency"]},
        "reward": {"window_seconds": 1},
        "training": {"min_events": 200, "search": {"enabled": False}},
    },
}
TRAINING_DECISIONS = 3_000
REWARDED_DECISIONS = 10_000
"""Decisions the reward run posts rewards for, each many times (with its own ``reward_id``)."""
REWARDS_PER_POST = 100
DECISIONS = """bodies = {%s}
counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil, bodies[counter %% #bodies + 1])
end
"""
PACED = "delay = function() return %d end\n"
REWARD_BATCHES = """ids = {%s}
counter = 0
request = function()
  counter = counter + 1
  local items = {}
  for i = 1, %d do
    local id = ids[(counter * %d + i) %% #ids + 1]
    items[i] = string.format('{"event_id":"%%s","reward_id":"w%%d-%%d","reward":1}', id, counter, i)
  end
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, "[" .. table.concat(items, ",") .. "]")
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


def lua_strings(values: list[str]) -> str:
    return ", ".join(json.dumps(v) for v in values)


def metric(api: ApiClient, name: str, label: str = "") -> float:
    """A counter or gauge of the server's ``/metrics``, summed over the series whose labels hold
    ``label`` (e.g. ``kind="reward"``)."""
    text = api.request("GET", "/metrics", raw=True).read().decode()
    series = re.findall(rf"^{name}(?:{{([^}}]*)}})? (\S+)$", text, re.M)
    return sum(float(value) for labels, value in series if label in labels)


def prepare(api: ApiClient) -> list[str]:
    """Create the experiments, train and activate ``bench12``'s policy; return the event ids of
    ``bench8`` decisions for the reward run."""
    for name, body in EXPERIMENTS.items():
        api("PUT", f"/v1/experiments/{name}", body)
    for i in range(TRAINING_DECISIONS):
        decision = api("POST", "/v1/decisions", {"experiment": "bench12", "context": {**CONTEXT, "visits": i % 7}})
        if decision["action"].startswith("hero=small") and i % 2:  # something for the policy to learn
            api("POST", "/v1/rewards", {"event_id": decision["event_id"], "reward": 1})
    time.sleep(2.5)  # past the 1 s attribution window, and the log written
    cycle = api("POST", "/v1/experiments/bench12/train")
    if cycle["version"] is None:
        raise SystemExit(f"bench12: no policy was trained: {cycle}")
    api("POST", f"/v1/experiments/bench12/policies/{cycle['version']}/activate")
    served = [api("POST", "/v1/decisions", {"experiment": "bench12", "context": CONTEXT})["policy_version"]]
    if served != [cycle["version"]]:
        raise SystemExit(f"bench12 serves {served}, not the trained v{cycle['version']}")
    return [
        api("POST", "/v1/decisions", {"experiment": "bench8", "context": CONTEXT})["event_id"]
        for _ in range(REWARDED_DECISIONS)
    ]


def stored_rewards(api: ApiClient) -> tuple[float, float]:
    """Rewards the webhook accepted (202) and rewards the writer stored (new ones and repeats,
    which are stored once), since the server started."""
    written = metric(api, "mvt_log_written_total", 'kind="reward"') + metric(api, "mvt_rewards_duplicate_total")
    return metric(api, "mvt_rewards_received_total"), written


def caught_up(api: ApiClient, started: float, before: tuple[float, float]) -> dict[str, float]:
    """Wait until the writer has stored what the reward run's posts queued (or 60 s without
    progress); the rewards accepted and stored since ``before``, the seconds from ``started``
    until they were stored, and how many accepted rewards were not stored."""
    progress = (time.monotonic(), -1.0)
    while True:
        accepted, stored = (now - then for now, then in zip(stored_rewards(api), before))
        if stored >= accepted:
            break
        if stored > progress[1]:
            progress = (time.monotonic(), stored)
        elif time.monotonic() - progress[0] > 60:
            break
        time.sleep(0.02)
    seconds = time.monotonic() - started
    return {"accepted": accepted, "stored": stored, "seconds": seconds, "lost": accepted - stored}


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
    folder = Path(tempfile.mkdtemp())  # the spool and the store's file: a fresh store each run
    env = {
        **os.environ,
        "MVT_PORT": str(port),
        "MVT_HOST": "127.0.0.1",
        "MVT_SPOOL_DIR": str(folder / "spool"),
        "MVT_DATA_PATH": str(folder / "mvt.sqlite3"),
    }
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
        rewarded = prepare(ApiClient(base))
        bodies = lua_strings([json.dumps({"experiment": e, "context": CONTEXT}) for e in EXPERIMENTS])
        decisions = DECISIONS % bodies
        rewards = REWARD_BATCHES % (lua_strings(rewarded), REWARDS_PER_POST, REWARDS_PER_POST)
        results = {}
        for name, path, requests in [("healthz", "/healthz", ""), ("decisions", "/v1/decisions", decisions)]:
            run_wrk(f"{base}{path}", 3, args.connections, requests)  # warm-up
            results[name] = run_wrk(f"{base}{path}", args.seconds, args.connections, requests)
        # each connection waits this long after an answer: about half the rate just measured
        delay = max(1, round(args.connections * 1000 / (results["decisions"]["rps"] / 2)) - 1)
        results["half rate"] = run_wrk(
            f"{base}/v1/decisions", args.seconds, args.connections, decisions + PACED % delay
        )
        # a new connection after each wrk run: the server closes one left idle that long
        before, started = stored_rewards(ApiClient(base)), time.monotonic()
        results["rewards"] = run_wrk(f"{base}/v1/rewards", args.seconds, args.connections, rewards)
        ingestion = caught_up(ApiClient(base), started, before)
    finally:
        server.terminate()
        server.wait(timeout=30)

    h, d, half = results["healthz"], results["decisions"], results["half rate"]
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "connections": args.connections,
        "seconds": args.seconds,
        **results,
        "throughput_ratio": round(d["rps"] / h["rps"], 3),
        "p99_ratio": round(d["p99_ms"] / h["p99_ms"], 3),
        "half_rate_share": round(half["rps"] / d["rps"], 3),
        **{f"rewards_{k}": v for k, v in ingestion.items()},
        "rewards_per_second": round(ingestion["stored"] / ingestion["seconds"]),
    }
    print(f"{'endpoint':<12}{'req/s':>10}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for name, r in results.items():
        print(f"{name:<12}{r['rps']:>10.0f}{r['p50_ms']:>9.2f}{r['p90_ms']:>9.2f}{r['p99_ms']:>9.2f}{r['errors']:>8}")
    print(f"decisions/healthz: throughput {report['throughput_ratio']:.2f}, p99 latency {report['p99_ratio']:.2f}")
    print(f"at {report['half_rate_share']:.2f} of that rate: decision p99 {half['p99_ms']:.2f} ms")
    print(
        f"reward ingestion: {report['rewards_per_second']:,} rewards/s stored ({ingestion['stored']:,.0f} in "
        f"{ingestion['seconds']:.1f} s, batches of {REWARDS_PER_POST}); {ingestion['accepted']:,.0f} accepted (202), "
        f"{ingestion['lost']:,.0f} of them not stored; posts refused with 503 (queue full): "
        f"{results['rewards']['errors']}"
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
