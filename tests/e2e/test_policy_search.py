"""The policy search earns its keep: on the simulated shop it chooses learning settings whose
greedy policy is truly better than VW's defaults."""

from __future__ import annotations

import random
import statistics
from datetime import timedelta

from policy.experiment import Experiment, PromotionSettings
from policy.features import arm_line, context_line
from policy.learning import LearningSettings
from simulator.shop import Shop
from tests.factories import T0
from trainer.join import Example
from trainer.search import search
from trainer.train import train_policies

SHOP = Shop()
ARM_LINES = {i: arm_line(i, layout) for i, layout in zip(SHOP.layout_ids, SHOP.layouts)}
_PROBE_RNG = random.Random(99)
PROBES = [SHOP.visitor(_PROBE_RNG) for _ in range(3000)]


def uniform_log(n: int, seed: int) -> list[Example]:
    """``n`` uniformly explored visits of the shop, one second apart."""
    rng = random.Random(seed)
    ids, k = SHOP.layout_ids, len(SHOP.layout_ids)
    log = []
    for i in range(n):
        context, shown = SHOP.visitor(rng), rng.randrange(k)
        log.append(Example(f"e{i:07d}", T0 + timedelta(seconds=i), context, tuple(ids), ids[shown], 1 / k,
                           SHOP.draw_reward(context, shown, rng)))
    return log


def true_value(settings: LearningSettings, log: list[Example]) -> float:
    """The exact expected click rate, on the probe visitors, of the greedy policy trained on ``log``."""
    (model,) = train_policies(lambda: log, ARM_LINES, [settings])
    lines = list(ARM_LINES.values())
    try:
        total = 0.0
        for context in PROBES:
            scores = model.score(context_line(context), lines)
            total += SHOP.expected_reward(context, scores.index(max(scores)))
    finally:
        model.close()
    return total / len(PROBES)


def test_the_search_beats_the_default_settings_over_seeds() -> None:
    experiment = Experiment.create("shop", factors=SHOP.config.factors, promotion=PromotionSettings(min_events=500))
    gains = []
    for seed in (0, 1, 2):
        log = uniform_log(12_000, seed)
        training = log[: int(len(log) * 0.8)]  # what a cycle trains on; the rest would be held out
        chosen = search(experiment, LearningSettings(), training, ARM_LINES, seed=seed).chosen
        gains.append(true_value(chosen, training) - true_value(LearningSettings(), training))
    # One-sided paired t-test over the seeds at 95% (t = 2.92 with 2 degrees of freedom): the
    # seeds' spread, not a guess, sets the margin the mean gain must clear.
    margin = 2.92 * statistics.stdev(gains) / len(gains) ** 0.5
    assert statistics.fmean(gains) > margin, gains
