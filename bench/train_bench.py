"""Training benchmark: throughput of a training cycle on the embedded store, and the cost
estimators.

    python bench/train_bench.py --sizes 100000 1000000
    python bench/train_bench.py --sizes 100000 --compare-cb-types
    python bench/train_bench.py --sizes 16000 100000 --search

For each size, logs that many uniformly explored decisions of the default simulated shop
(``simulator.shop``: 12 layouts, 3 context features and 2 noise features, ~15% clicks), 10 ms
apart, into a fresh embedded store, then times one training cycle with VW's default settings
and no policy search: the join of decisions, rewards and activations, VW training of the
candidate and of DR's reward model on the older 80%, and the replay on the newest 20%. With
``--compare-cb-types`` it trains with each of ips, dr and mtr on the same log, and with
``--search`` it runs a cycle with the policy search; both report the true click rate of each
greedy policy on fresh visitors (the shop knows its click probabilities), next to the best
single layout and the per-visitor oracle.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import replace
from datetime import timedelta

from policy.experiment import Experiment, RewardSettings, TrainingSettings
from policy.learning import LearningSettings, SearchSettings
from policy.model import VWModel
from policy.records import Decision, Reward, utcnow
from simulator.offline import greedy_value
from simulator.shop import Shop
from store import mongo
from store.repositories import Store
from trainer.cycle import run_cycle

SHOP = Shop()


def experiment(cb_type: str = "mtr", search: bool = False) -> Experiment:
    """The shop's experiment; VW's default settings unless ``cb_type`` says otherwise, with the
    policy search off unless ``search``."""
    return Experiment.create(
        "bench",
        factors=SHOP.config.factors,
        epsilon=1.0,
        reward=RewardSettings(window_seconds=60),
        training=TrainingSettings(
            min_events=1, vw=LearningSettings(cb_type=cb_type), search=SearchSettings(enabled=search)
        ),
    )


def log_traffic(store: Store, n: int, rng: random.Random) -> float:
    """Log n uniformly random decisions and their clicks; return seconds taken."""
    ids = SHOP.layout_ids
    first_ts = utcnow() - timedelta(days=1)  # one decision per 10 ms, all windows closed
    started = time.perf_counter()
    for start in range(0, n, 10_000):
        decisions, rewards = [], []
        for i in range(start, min(n, start + 10_000)):
            context = SHOP.visitor(rng)
            chosen = rng.randrange(len(ids))
            event_id = f"e{i:08d}"
            ts = first_ts + timedelta(milliseconds=10 * i)
            decisions.append(
                Decision(
                    event_id,
                    "bench",
                    ts,
                    context,
                    tuple(ids),
                    ids[chosen],
                    1 / len(ids),
                    (1 / len(ids),) * len(ids),
                    0,
                    1.0,
                    False,
                )
            )
            if SHOP.draw_reward(context, chosen, rng):
                rewards.append(Reward(event_id, "click", 1.0, ts))
        store.events.insert_decisions(decisions)
        store.events.insert_rewards(rewards)
    return time.perf_counter() - started


def policy_value(store: Store, version: int, rng: random.Random, visitors: int = 5000) -> float:
    """True expected click rate of the greedy policy on fresh visitors."""
    model = VWModel.from_bytes(store.policies.model("bench", version))
    try:
        return greedy_value(SHOP, model, [SHOP.visitor(rng) for _ in range(visitors)])
    finally:
        model.close()


def baselines(rng: random.Random, visitors: int = 5000) -> tuple[float, float]:
    """(best single layout, per-context oracle) true click rates on fresh visitors."""
    contexts = [SHOP.visitor(rng) for _ in range(visitors)]
    best = SHOP.best_fixed_layout(contexts)
    fixed = sum(SHOP.expected_reward(c, best) for c in contexts) / visitors
    oracle = sum(SHOP.expected_reward(c, SHOP.best_layout(c)) for c in contexts) / visitors
    return fixed, oracle


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--compare-cb-types", action="store_true")
    parser.add_argument("--search", action="store_true", help="also run a cycle with the policy search")
    args = parser.parse_args()

    for n in args.sizes:
        backend = mongo.embedded("bench")
        backend.ensure_schema()
        store = backend.store()
        store.experiments.put(experiment())
        log_seconds = log_traffic(store, n, random.Random(1))
        started = time.perf_counter()
        summary = run_cycle(store, store.experiments.get("bench"), utcnow())
        seconds = time.perf_counter() - started
        print(
            f"{n:>9,} decisions: logged in {log_seconds:6.1f} s ({n / log_seconds:8,.0f}/s); "
            f"cycle {seconds:6.1f} s ({summary.examples / seconds:8,.0f} joined examples/s; trained on "
            f"{summary.events:,}, each scored by a version that had not learned it)",
            flush=True,
        )

        if args.search:
            fixed, oracle = baselines(random.Random(7))
            plain = policy_value(store, summary.version, random.Random(7))
            started = time.perf_counter()
            result = run_cycle(
                store, replace(store.experiments.get("bench"), training=experiment(search=True).training), utcnow()
            )
            seconds = time.perf_counter() - started
            found = store.reports.list("bench")[0].document["search"]
            chosen = LearningSettings(**found["chosen"])
            value = policy_value(store, result.version, random.Random(7))
            print(
                f"  greedy value with VW's default settings {plain:.4f} ({plain / oracle:.1%} of oracle, "
                f"{plain / fixed - 1:+.1%} vs best fixed); with the search {value:.4f} ({value / oracle:.1%}, "
                f"{value / fixed - 1:+.1%}) using {chosen.vw_args()} --passes {chosen.passes}",
                flush=True,
            )
            print(
                f"  cycle with the search {seconds:.1f} s, of which the search {found['seconds']:.1f} s "
                f"({len(found['trials'])} settings, {found['events']:,} sampled events)",
                flush=True,
            )

        if args.compare_cb_types:
            fixed, oracle = baselines(random.Random(7))
            print(f"  best fixed layout {fixed:.4f}, oracle {oracle:.4f}, uniform logging")
            for cb_type in ("ips", "dr", "mtr"):
                exp = replace(store.experiments.get("bench"), training=experiment(cb_type).training)
                started = time.perf_counter()
                result = run_cycle(store, exp, utcnow())
                seconds = time.perf_counter() - started
                value = policy_value(store, result.version, random.Random(7))
                print(
                    f"  cb_type {cb_type:<4} greedy value {value:.4f} ({value / oracle:6.1%} of oracle, "
                    f"{value / fixed - 1:+6.1%} vs best fixed), {seconds:5.1f} s",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
