"""Drive a running mvt service with the simulated shop, through its HTTP API, and measure it
against the truth the simulator knows."""

from __future__ import annotations

import heapq
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from simulator.shop import Shop

Progress = Callable[[int, int], None]


class Api(Protocol):
    def __call__(self, method: str, path: str, body: Any = None) -> Any:
        """Send a request and return the decoded JSON answer (raising on an error status)."""


@dataclass
class Curve:
    """Mean true expected reward per visitor over consecutive buckets of visitors."""

    visitors: list[int] = field(default_factory=list)
    bandit: list[float] = field(default_factory=list)
    uniform: list[float] = field(default_factory=list)
    best_fixed: list[float] = field(default_factory=list)
    oracle: list[float] = field(default_factory=list)


@dataclass
class SimulationResult:
    visitors: int
    seconds: float
    best_fixed_layout: str
    curve: Curve
    final: dict[str, float]
    policies: list[dict[str, Any]]
    replay_check: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def simulate(
    api: Api,
    shop: Shop,
    *,
    visitors: int,
    train_every: int,
    epsilon: float = 0.2,
    seed: int = 0,
    experiment_id: str = "shop",
    bucket: int = 1000,
    probes: int = 2000,
    progress: Progress | None = None,
) -> SimulationResult:
    """Run ``visitors`` simulated page views against the service.

    Each visitor asks for a decision; their reward (if any) is posted to the webhook after its
    simulated delay, in batches; a training cycle runs every ``train_every`` visitors. The
    learning curve records the *true* expected reward of what each visitor was shown, next to
    what uniform random, the best fixed layout and the oracle would have earned for the same
    visitors. At the end, ``probes`` fresh visitors measure the final greedy policy.
    """
    started = time.monotonic()
    rng = random.Random(seed)
    api("PUT", f"/v1/experiments/{experiment_id}", shop.experiment(
        epsilon, training={"min_events": 200, "interval_seconds": 10**7}, promotion={"min_events": 200}))
    index = {layout_id: i for i, layout_id in enumerate(shop.layout_ids)}
    reference = random.Random(seed + 1)
    best_fixed = shop.best_fixed_layout([shop.visitor(reference) for _ in range(5000)])
    pending: list[tuple[float, int, dict[str, Any]]] = []
    curve, sums, count = Curve(), [0.0, 0.0, 0.0, 0.0], 0

    def post_due(force: bool = False) -> None:
        now = time.monotonic()
        batch = []
        while pending and (force or pending[0][0] <= now):
            batch.append(heapq.heappop(pending)[2])
        for i in range(0, len(batch), 1000):
            api("POST", "/v1/rewards", batch[i:i + 1000])

    for n in range(1, visitors + 1):
        context = shop.visitor(rng)
        answer = api("POST", "/v1/decisions", {"experiment": experiment_id, "context": context})
        shown = index[answer["action"]]
        values = [shop.expected_reward(context, i) for i in range(len(shop.layouts))]
        for k, v in enumerate((values[shown], statistics.fmean(values), values[best_fixed], max(values))):
            sums[k] += v
        count += 1
        reward = shop.draw_reward(context, shown, rng)
        if reward:
            heapq.heappush(pending, (time.monotonic() + shop.draw_delay(rng), n,
                                     {"event_id": answer["event_id"], "reward": reward}))
        if n % 25 == 0:
            post_due()
        if n % bucket == 0 or n == visitors:
            curve.visitors.append(n)
            for series, total in zip((curve.bandit, curve.uniform, curve.best_fixed, curve.oracle), sums):
                series.append(total / count)
            sums, count = [0.0, 0.0, 0.0, 0.0], 0
        if n % train_every == 0:
            post_due()
            api("POST", f"/v1/experiments/{experiment_id}/train")
        if progress is not None:
            progress(n, visitors)
    if pending:  # let the last rewards arrive
        time.sleep(max(0.0, max(due for due, _, _ in pending) - time.monotonic()))
    post_due(force=True)

    final = _probe(api, shop, experiment_id, probes, best_fixed, random.Random(seed + 2))
    policies = [{"version": p["version"], "status": p["status"], "reason": p["reason"]}
                for p in api("GET", f"/v1/experiments/{experiment_id}/policies")]
    return SimulationResult(visitors, time.monotonic() - started, shop.layout_ids[best_fixed], curve, final,
                            policies, _replay_check(api, experiment_id, final))


def _probe(api: Api, shop: Shop, experiment_id: str, probes: int, best_fixed: int,
           rng: random.Random) -> dict[str, float]:
    """True values, on fresh visitors, of the service's greedy policy and the baselines."""
    index = {layout_id: i for i, layout_id in enumerate(shop.layout_ids)}
    greedy, uniform, fixed, oracle = [], [], [], []
    version = 0
    for _ in range(probes):
        context = shop.visitor(rng)
        answer = api("POST", "/v1/decisions", {"experiment": experiment_id, "context": context, "explore": False})
        version = answer["policy_version"]
        values = [shop.expected_reward(context, i) for i in range(len(shop.layouts))]
        greedy.append(values[index[answer["action"]]])
        uniform.append(statistics.fmean(values))
        fixed.append(values[best_fixed])
        oracle.append(max(values))
    g, u, f, o = (statistics.fmean(x) for x in (greedy, uniform, fixed, oracle))
    return {"policy_version": version, "greedy": g, "uniform": u, "best_fixed": f, "oracle": o,
            "fraction_of_oracle": g / o, "uplift_over_best_fixed": g / f - 1.0}


def _replay_check(api: Api, experiment_id: str, final: dict[str, float]) -> dict[str, Any] | None:
    """The latest replay report's estimate of the served policy next to its true value."""
    reports = api("GET", f"/v1/experiments/{experiment_id}/reports")
    if not reports or reports[0]["candidate_version"] != final["policy_version"]:
        return None
    report = api("GET", f"/v1/experiments/{experiment_id}/reports/latest")
    entry = next(p for p in report["policies"] if p["name"] == f"candidate v{final['policy_version']} (greedy)")
    estimate = entry["estimates"][report["comparison"]["metric"]]
    return {"policy_version": final["policy_version"], "metric": report["comparison"]["metric"],
            "estimate": estimate, "true_value": final["greedy"],
            "covered": estimate["low"] <= final["greedy"] <= estimate["high"]}
