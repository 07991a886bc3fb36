"""A cycle's cost against the rest of the store: one experiment's cycle of 5,000 decisions,
with the store holding nothing else, then ten times as many decisions and rewards of other
experiments. Best of three runs each, embedded store.

    python bench/cycle_isolation.py
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from policy.experiment import PromotionSettings, RewardSettings, TrainingSettings
from policy.learning import SearchSettings
from store import mongo
from tests import factories
from trainer.cycle import run_cycle


def timed(others: int) -> tuple[float, int]:
    """Best of three cycles, each from scratch (on a store of its own), with ``others``
    decisions of other experiments."""
    best, rewards = [], 0
    for _ in range(3):
        backend = mongo.embedded(f"isolation{others}")
        backend.ensure_schema()
        store = backend.store()
        experiment = factories.experiment(
            reward=RewardSettings(window_seconds=60),
            training=TrainingSettings(min_events=100, search=SearchSettings(enabled=False)),
            promotion=PromotionSettings(min_events=50),
        )
        store.experiments.put(experiment)
        factories.log_uniform_traffic(store, 5000)
        for k in range(others // 5000):
            factories.log_uniform_traffic(store, 5000, experiment_id=f"other{k}", seed=k)
        started = time.perf_counter()
        run_cycle(store, experiment, factories.T0 + timedelta(hours=4))
        best.append(time.perf_counter() - started)
        rewards = len(store.events.reward_ids())
    return min(best), rewards


def main() -> int:
    alone, rewards_alone = timed(0)
    crowded, rewards_crowded = timed(50_000)
    print(
        f"a cycle of 5,000 decisions: {alone:.2f} s with {rewards_alone:,} rewards in the store, "
        f"{crowded:.2f} s with {rewards_crowded:,} (ratio {crowded / alone:.2f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
