"""The policy search earns its keep: on the simulated shop, started from VW's generic settings,
it chooses learning settings whose greedy policy is truly better."""

from __future__ import annotations

import random

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


GENERIC = LearningSettings(learning_rate=0.5, clip_p=0.0)
"""VW's generic settings (its own default step, no clipping): mvt's defaults until issue 32."""


def test_the_search_leaves_vws_generic_settings_only_for_truly_better_ones() -> None:
    """Started from VW's generic settings, the search moves only on evidence (its paired gain
    above zero, Bonferroni-corrected), so where it moves the new settings are truly better, and
    on these logs it finds such evidence at least once; where it stays, nothing is lost."""
    experiment = Experiment.create("shop", factors=SHOP.config.factors, promotion=PromotionSettings(min_events=500))
    gains = []
    for seed in (0, 1, 2):
        log = uniform_log(SHOP, 25_000, seed)
        training = log[: int(len(log) * 0.8)]  # what a cycle trains on; the rest would be held out
        chosen = search(experiment, GENERIC, training, ARM_LINES, seed=seed).chosen
        gains.append(true_value(chosen, training) - true_value(GENERIC, training) if chosen != GENERIC else None)
    moved = [g for g in gains if g is not None]
    assert moved and all(g > 0 for g in moved), gains
