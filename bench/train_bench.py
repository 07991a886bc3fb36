"""Training benchmark: join + train throughput on the embedded store, and the cost estimators.

    python bench/train_bench.py --sizes 100000 1000000
    python bench/train_bench.py --sizes 100000 --compare-cb-types

For each size, logs that many uniformly explored decisions (12 layouts, 3 context features,
~12% clicks) into a fresh embedded store, then times one training cycle (join of decisions,
rewards and activations + VW training), and reports examples/second. With
``--compare-cb-types`` it trains with each of ips, dr and mtr on the same log and reports the
true click rate of each greedy policy on fresh visitors (the population's click probabilities are
known), next to the best single layout and the per-context oracle.
"""

from __future__ import annotations

import argparse
import itertools
import math
import random
import sys
import time
from dataclasses import replace
from datetime import timedelta

from mvt_service.embedded import embedded_client
from mvt_service.store import Store
from policy.experiment import Experiment, RewardSettings, TrainingSettings
from policy.features import arm_line, context_line
from policy.learning import LearningSettings
from policy.model import VWModel
from trainer.cycle import run_cycle
from trainer.records import Decision, Reward, utcnow

FACTORS = {"hero": ["big", "small"], "cta": ["green", "blue", "orange"], "headline": ["value", "urgency"]}
CONTEXT = {"device": ["mobile", "desktop", "tablet"], "geo": ["DE", "FR", "US", "UK", "ES"],
           "referrer": ["google", "direct", "email", "social"]}


def click_probability(context: dict[str, str], levels: dict[str, str]) -> float:
    """A logistic click model with main effects and context-by-factor interactions."""
    z = -2.4
    z += 0.3 * (levels["cta"] == "orange") + 0.2 * (levels["headline"] == "urgency")
    z += 0.9 * (context["device"] == "mobile") * (levels["hero"] == "small")
    z -= 0.6 * (context["device"] == "mobile") * (levels["hero"] == "big")
    z += 0.7 * (context["referrer"] == "email") * (levels["headline"] == "value")
    z += 0.5 * (context["geo"] in ("DE", "FR")) * (levels["cta"] == "blue")
    return 1 / (1 + math.exp(-z))


def arms() -> list[dict[str, str]]:
    return [dict(zip(FACTORS, combo)) for combo in itertools.product(*FACTORS.values())]


def experiment(cb_type: str = "mtr") -> Experiment:
    return Experiment.create(
        "bench", factors=FACTORS, epsilon=1.0, reward=RewardSettings(window_seconds=60),
        training=TrainingSettings(min_events=1, vw=LearningSettings(cb_type=cb_type)),
    )


def log_traffic(store: Store, n: int, rng: random.Random) -> float:
    """Log n uniformly random decisions and their clicks; return seconds taken."""
    layouts = arms()
    ids = [",".join(f"{k}={v}" for k, v in a.items()) for a in layouts]
    ts = utcnow() - timedelta(hours=1)
    started = time.perf_counter()
    for start in range(0, n, 10_000):
        decisions, rewards = [], []
        for i in range(start, min(n, start + 10_000)):
            context = {k: rng.choice(v) for k, v in CONTEXT.items()}
            chosen = rng.randrange(len(layouts))
            event_id = f"e{i:08d}"
            decisions.append(Decision(event_id, "bench", ts, context, tuple(ids), ids[chosen], 1 / len(ids),
                                      (1 / len(ids),) * len(ids), 0, 1.0, False))
            if rng.random() < click_probability(context, layouts[chosen]):
                rewards.append(Reward(event_id, "click", 1.0, ts))
        store.insert_decisions(decisions)
        store.insert_rewards(rewards)
    return time.perf_counter() - started


def policy_value(store: Store, version: int, rng: random.Random, visitors: int = 5000) -> float:
    """True expected click rate of the greedy policy on fresh visitors."""
    layouts = arms()
    lines = [arm_line(",".join(f"{k}={v}" for k, v in a.items()), a) for a in layouts]
    model = VWModel.from_bytes(store.policy_model("bench", version))
    total = 0.0
    try:
        for _ in range(visitors):
            context = {k: rng.choice(v) for k, v in CONTEXT.items()}
            scores = model.score(context_line(context), lines)
            total += click_probability(context, layouts[scores.index(max(scores))])
    finally:
        model.close()
    return total / visitors


def baselines(rng: random.Random, visitors: int = 5000) -> tuple[float, float]:
    """(best single layout, per-context oracle) true click rates on fresh visitors."""
    contexts = [{k: rng.choice(v) for k, v in CONTEXT.items()} for _ in range(visitors)]
    layouts = arms()
    fixed = max(sum(click_probability(c, a) for c in contexts) for a in layouts) / visitors
    oracle = sum(max(click_probability(c, a) for a in layouts) for c in contexts) / visitors
    return fixed, oracle


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--compare-cb-types", action="store_true")
    args = parser.parse_args()

    for n in args.sizes:
        store = Store(embedded_client()["bench"])
        store.ensure_indexes()
        store.put_experiment(experiment())
        log_seconds = log_traffic(store, n, random.Random(1))
        started = time.perf_counter()
        summary = run_cycle(store, store.get_experiment("bench"), utcnow())
        seconds = time.perf_counter() - started
        print(f"{n:>9,} decisions: logged in {log_seconds:6.1f} s ({n / log_seconds:8,.0f}/s); "
              f"join + train {seconds:6.1f} s ({summary.examples / seconds:8,.0f} examples/s)", flush=True)

        if args.compare_cb_types:
            fixed, oracle = baselines(random.Random(7))
            print(f"  best fixed layout {fixed:.4f}, oracle {oracle:.4f}, uniform logging")
            for cb_type in ("ips", "dr", "mtr"):
                exp = replace(store.get_experiment("bench"), training=experiment(cb_type).training)
                started = time.perf_counter()
                result = run_cycle(store, exp, utcnow())
                seconds = time.perf_counter() - started
                value = policy_value(store, result.version, random.Random(7))
                print(f"  cb_type {cb_type:<4} greedy value {value:.4f} ({value / oracle:6.1%} of oracle, "
                      f"{value / fixed - 1:+6.1%} vs best fixed), {seconds:5.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
