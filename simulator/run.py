"""Drive a running mvt service with the simulated shop, through its HTTP API, and measure it
against the truth the simulator knows."""

from __future__ import annotations

import heapq
import math
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from simulator.offline import oracle_value, population, population_mean
from simulator.shop import Context, Shop
from simulator.timeline import Timeline, WallTime

Progress = Callable[[int, int, str], None]
"""Called with the visitors so far, the visitors in all, and what the run is doing now."""


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
class CycleCheck:
    """A training cycle seen from outside: what serves after it, that policy's true greedy value
    (exact, over every context the shop draws), and the cycle's replay estimate of it (None when
    nothing but uniform random serves, which the report does not estimate greedily). Replay estimates the reward
    that arrives within the attribution window, so ``covered`` checks its interval against
    ``attributed_value``, the true value times the shop's attributed share."""

    visitors: int
    status: str
    mode: str | None
    events: int
    seconds: float
    served_version: int
    true_value: float
    fraction_of_oracle: float
    attributed_value: float
    estimate: dict[str, float] | None
    covered: bool | None


@dataclass
class SimulationResult:
    visitors: int
    seconds: float
    best_fixed_layout: str
    curve: Curve
    final: dict[str, float]
    policies: list[dict[str, Any]]
    cycles: list[CycleCheck]
    attributed_share: float
    served_share: float
    """The share of the oracle's expected reward that the visitors actually served earned."""
    drift_at: int | None = None
    served_share_after_drift: float | None = None
    reproducible: bool = False
    """Whether the run was on simulated time, so that its seed fixes every figure but the
    wall-clock durations (``seconds``)."""

    @property
    def first_promotion(self) -> int | None:
        """The visitor after which a cycle first promoted a policy."""
        return next((c.visitors for c in self.cycles if c.status == "active"), None)

    @property
    def promoted_at(self) -> list[int]:
        """The visitors after which a cycle promoted a policy."""
        return [c.visitors for c in self.cycles if c.status == "active"]

    @property
    def promotions(self) -> tuple[int, int]:
        """(learners promoted, learners rejected) over the run."""
        statuses = [p["status"] for p in self.policies]
        return statuses.count("active") + statuses.count("retired"), statuses.count("rejected")

    @property
    def worsening_promotions(self) -> list[float]:
        """For each promotion after which what served was truly worse than what served before it,
        how much worse, as a share of the oracle (both measured in one world: a promotion across
        the change of tastes is left out; so is the first cycle's, against uniform random)."""
        drops = []
        for before, after in zip(self.cycles, self.cycles[1:]):
            across = self.drift_at is not None and before.visitors < self.drift_at <= after.visitors
            if after.status == "active" and not across and after.fraction_of_oracle < before.fraction_of_oracle:
                drops.append(before.fraction_of_oracle - after.fraction_of_oracle)
        return drops

    @property
    def replay_coverage(self) -> tuple[int, int]:
        """(cycles whose replay interval held the served policy's true value, cycles checked)."""
        checked = [c.covered for c in self.cycles if c.covered is not None]
        return sum(checked), len(checked)

    @property
    def visitors_to_90(self) -> int | None:
        """Visitors until a cycle first left a policy worth 90% of the oracle serving."""
        return next((c.visitors for c in self.cycles if c.fraction_of_oracle >= 0.9), None)

    def as_dict(self) -> dict[str, Any]:
        covered, checked = self.replay_coverage
        return {
            **asdict(self),
            "replay_covered": covered,
            "replay_checked": checked,
            "visitors_to_90_percent_of_oracle": self.visitors_to_90,
            "first_promotion": self.first_promotion,
            "promoted_at": self.promoted_at,
            "promoted": self.promotions[0],
            "rejected": self.promotions[1],
        }


def simulate(
    api: Api,
    shop: Shop,
    *,
    visitors: int,
    train_every: int,
    epsilon: float = 0.2,
    candidate_share: float | None = None,
    promotion: dict[str, float] | None = None,
    seed: int = 0,
    experiment_id: str = "shop",
    bucket: int = 1000,
    probes: int = 2000,
    search_events: int = 10_000,
    drift_at: int | None = None,
    progress: Progress | None = None,
    timeline: Timeline | None = None,
) -> SimulationResult:
    """Run ``visitors`` simulated page views against the service.

    Each visitor asks for a decision; their reward (if any) is posted to the webhook after its
    simulated delay, in batches; a training cycle runs every ``train_every`` visitors (its
    policy search samples at most ``search_events`` examples; ``promotion`` overrides the
    experiment's promotion settings, ``candidate_share`` its share; None: the service's
    defaults). The learning curve records the
    *true* expected reward of what each visitor was shown, next to what uniform random, the best
    fixed layout and the oracle would have earned for the same visitors. After each cycle
    the served greedy policy's exact value over every context the shop draws (weighted by its
    probability) is set against the cycle's replay estimate of it; at the end, ``probes`` fresh
    visitors measure the final greedy policy.
    Probes ask for decisions with deferred activation and never activate them, so they are
    logged but never trained or replayed on. With ``drift_at``, the visitors' tastes change
    (:meth:`Shop.drifted`) from that visitor on; the truth, the oracle and the best fixed layout
    are then the new shop's.

    Time comes from ``timeline`` (the wall clock by default): with the
    :class:`~simulator.timeline.SimulatedTime` that an embedded service also runs on, the
    figures depend on the seed alone. Before each cycle the run waits until the service has
    written every decision and reward it was sent (its ``/readyz`` backlog is empty).
    """
    started = time.monotonic()
    timeline = timeline or WallTime()
    visitors_rng, rewards_rng, delays_rng, reference, probe_rng = (
        stream(seed, name) for name in ("visitors", "rewards", "delays", "reference", "probes")
    )
    api(
        "PUT",
        f"/v1/experiments/{experiment_id}",
        shop.experiment(
            epsilon,
            candidate_share,
            training={"min_events": 200, "interval_seconds": 10**7, "search": {"max_events": search_events}},
            promotion={"min_events": 200, **(promotion or {})},
        ),
    )
    index = {layout_id: i for i, layout_id in enumerate(shop.layout_ids)}
    best_fixed = shop.best_fixed_layout([shop.visitor(reference) for _ in range(5000)])
    pending: list[tuple[float, int, dict[str, Any], bool]] = []  # (due, visitor, reward, after the window)
    curve, sums, count = Curve(), [0.0, 0.0, 0.0, 0.0], 0
    cycles: list[CycleCheck] = []

    def post_due(force: bool = False) -> None:
        now = timeline.now()
        batch = []
        while pending and (force or pending[0][0] <= now):
            batch.append(heapq.heappop(pending)[2])
        for i in range(0, len(batch), 1000):
            api("POST", "/v1/rewards", batch[i : i + 1000])

    earned, possible, earned_after, possible_after = 0.0, 0.0, 0.0, 0.0
    for n in range(1, visitors + 1):
        if n == drift_at:
            shop = shop.drifted()
            best_fixed = shop.best_fixed_layout([shop.visitor(reference) for _ in range(5000)])
        timeline.next_visitor()
        context = shop.visitor(visitors_rng)
        answer = api("POST", "/v1/decisions", {"experiment": experiment_id, "context": context})
        shown = index[answer["action"]]
        values = [shop.expected_reward(context, i) for i in range(len(shop.layouts))]
        for k, v in enumerate((values[shown], statistics.fmean(values), values[best_fixed], max(values))):
            sums[k] += v
        count += 1
        earned, possible = earned + values[shown], possible + max(values)
        if drift_at is not None and n >= drift_at:
            earned_after, possible_after = earned_after + values[shown], possible_after + max(values)
        reward = shop.draw_reward(context, shown, rewards_rng)
        if reward:
            delay = shop.draw_delay(delays_rng)
            heapq.heappush(
                pending,
                (
                    timeline.now() + delay,
                    n,
                    {"event_id": answer["event_id"], "reward": reward},
                    delay > shop.config.window_seconds,
                ),
            )
        if n % 25 == 0:
            post_due()
        if n % bucket == 0 or n == visitors:
            curve.visitors.append(n)
            for series, total in zip((curve.bandit, curve.uniform, curve.best_fixed, curve.oracle), sums):
                series.append(total / count)
            sums, count = [0.0, 0.0, 0.0, 0.0], 0
        if n % train_every == 0:
            # rewards keep arriving while a real shop trains: deliver those due within their
            # window before the cycle blocks this loop, so that none is made late by it
            timeline.wait_until(max((due for due, _, _, late in pending if not late), default=0.0))
            post_due()
            _written(api)
            if progress is not None:
                progress(n, visitors, f"training cycle {len(cycles) + 1}")
            began = time.monotonic()
            cycle = api("POST", f"/v1/experiments/{experiment_id}/train")
            cycle["seconds"] = time.monotonic() - began
            cycles.append(_check(api, shop, experiment_id, n, cycle, _exact(api, shop, experiment_id)))
        if progress is not None:
            progress(n, visitors, "")
    timeline.wait_until(max((due for due, _, _, _ in pending), default=0.0))  # let the last rewards arrive
    post_due(force=True)
    _written(api)

    final = _probe(api, shop, experiment_id, probes, best_fixed, probe_rng)
    policies = [
        {
            "version": p["version"],
            "status": p["status"],
            "reason": p["reason"],
            "vw_args": p["vw_args"],
            "passes": p["learning"].get("passes", 1),
            "examples": p["examples"],
        }
        for p in api("GET", f"/v1/experiments/{experiment_id}/policies")
    ]
    return SimulationResult(
        visitors,
        time.monotonic() - started,
        shop.layout_ids[best_fixed],
        curve,
        final,
        policies,
        cycles,
        shop.attributed_share,
        earned / possible,
        drift_at,
        earned_after / possible_after if possible_after else None,
        timeline.reproducible,
    )


def stream(seed: int, name: str) -> random.Random:
    """The random stream ``name`` of a run with ``seed``: each source of chance (visitors,
    rewards, reward delays, the reference and probe visitors) draws from its own, so that one
    drawing more or less (a click where there was none, after a different layout) leaves the
    others as they were: the same seed meets the same visitors, whatever the policy shows."""
    return random.Random(f"{seed}/{name}")


def _written(api: Api, timeout: float = 60.0) -> None:
    """Wait until the service has written what it was sent (its log's backlog is empty)."""
    deadline = time.monotonic() + timeout
    while api("GET", "/readyz")["log"]["pending"]:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the service did not write its log within {timeout:g} s")
        time.sleep(0.005)


def _exact(api: Api, shop: Shop, experiment_id: str) -> dict[str, float]:
    """The service's greedy policy's exact value and the oracle's, over every context the shop
    draws (:func:`simulator.offline.population`), asked with deferred activation."""
    visitors = population(shop)
    versions: list[int] = []

    def greedy(context: Context) -> float:
        body = {"experiment": experiment_id, "context": context, "explore": False, "defer_activation": True}
        answer = api("POST", "/v1/decisions", body)
        versions.append(answer["policy_version"])
        return shop.expected_reward(context, shop.layout_ids.index(answer["action"]))

    value = population_mean(visitors, greedy)
    return {"policy_version": versions[-1], "greedy": value, "fraction_of_oracle": value / oracle_value(shop, visitors)}


def _probe(
    api: Api, shop: Shop, experiment_id: str, probes: int, best_fixed: int, rng: random.Random
) -> dict[str, float]:
    """True values, on fresh visitors, of the service's greedy policy and the baselines, with
    the standard errors of the greedy policy's paired gains over uniform random and the best
    fixed layout."""
    index = {layout_id: i for i, layout_id in enumerate(shop.layout_ids)}
    greedy, uniform, fixed, oracle = [], [], [], []
    version = 0
    for _ in range(probes):
        context = shop.visitor(rng)
        answer = api(
            "POST",
            "/v1/decisions",
            {"experiment": experiment_id, "context": context, "explore": False, "defer_activation": True},
        )
        version = answer["policy_version"]
        values = [shop.expected_reward(context, i) for i in range(len(shop.layouts))]
        greedy.append(values[index[answer["action"]]])
        uniform.append(statistics.fmean(values))
        fixed.append(values[best_fixed])
        oracle.append(max(values))
    g, u, f, o = (statistics.fmean(x) for x in (greedy, uniform, fixed, oracle))
    return {
        "policy_version": version,
        "greedy": g,
        "uniform": u,
        "best_fixed": f,
        "oracle": o,
        "fraction_of_oracle": g / o,
        "uplift_over_best_fixed": g / f - 1.0,
        "se_gain_over_uniform": _paired_se(greedy, uniform),
        "se_gain_over_best_fixed": _paired_se(greedy, fixed),
    }


def _paired_se(a: list[float], b: list[float]) -> float:
    """Standard error of the mean of the paired differences ``a - b``."""
    return statistics.stdev(x - y for x, y in zip(a, b)) / math.sqrt(len(a))


def _check(
    api: Api, shop: Shop, experiment_id: str, visitors: int, cycle: dict[str, Any], truth: dict[str, float]
) -> CycleCheck:
    """Set the cycle's replay estimate of the served policy's greedy value beside its true
    value (:func:`_exact`)."""
    served = int(truth["policy_version"])
    estimate = None
    if cycle["status"] != "skipped" and served:
        report = api("GET", f"/v1/experiments/{experiment_id}/reports/latest")
        role = "learner" if served == report["candidate_version"] else "serving"
        entry = next((p for p in report["policies"] if p["name"] == f"{role} v{served} (greedy)"), None)
        estimate = None if entry is None else entry["estimates"][report["comparison"]["metric"]]
    attributed = truth["greedy"] * shop.attributed_share
    covered = None if estimate is None else estimate["low"] <= attributed <= estimate["high"]
    return CycleCheck(
        visitors,
        cycle["status"],
        cycle.get("mode"),
        cycle.get("events", 0),
        round(cycle.get("seconds", 0.0), 2),
        served,
        truth["greedy"],
        truth["fraction_of_oracle"],
        attributed,
        estimate,
        covered,
    )
