"""The policy search earns its keep: on the simulated shop it chooses learning settings whose
greedy policy is truly better than VW's defaults."""

from __future__ import annotations

import random
import statistics

from policy.experiment import Experiment, PromotionSettings
from policy.learning import LearningSettings
from simulator.offline import arm_lines, greedy_value, uniform_log
from simulator.shop import Shop
from trainer.search import search
from trainer.train import train_policies

SHOP = Shop()
ARM_LINES = arm_lines(SHOP)
_PROBE_RNG = random.Random(99)
PROBES = [SHOP.visitor(_PROBE_RNG) for _ in range(3000)]


def true_value(settings: LearningSettings, log: list) -> float:
    """The exact expected reward, on the probe visitors, of the greedy policy trained on ``log``."""
    (model,) = train_policies(log, ARM_LINES, [settings])
    try:
        return greedy_value(SHOP, model, PROBES)
    finally:
        model.close()


def test_the_search_beats_the_default_settings_over_seeds() -> None:
    experiment = Experiment.create("shop", factors=SHOP.config.factors, promotion=PromotionSettings(min_events=500))
    gains = []
    for seed in (0, 1, 2):
        log = uniform_log(SHOP, 12_000, seed)
        training = log[: int(len(log) * 0.8)]  # what a cycle trains on; the rest would be held out
        chosen = search(experiment, LearningSettings(), training, ARM_LINES, seed=seed).chosen
        gains.append(true_value(chosen, training) - true_value(LearningSettings(), training))
    # One-sided paired t-test over the seeds at 95% (t = 2.92 with 2 degrees of freedom): the
    # seeds' spread, not a guess, sets the margin the mean gain must clear.
    margin = 2.92 * statistics.stdev(gains) / len(gains) ** 0.5
    assert statistics.fmean(gains) > margin, gains
