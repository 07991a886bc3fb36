"""The promotion rule: its thresholds by hand, and attempts to break its guarantee (a worse
learner is never promoted, however often the evidence is read)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from policy.experiment import PromotionSettings
from replay.sequence import Evidence
from trainer.promotion import decide

SETTINGS = PromotionSettings(min_events=100, margin=0.02, min_improvement=0.0)


def evidence(mean: float, sd: float, n: int, seed: int = 0) -> Evidence:
    terms = np.random.default_rng(seed).normal(mean, sd, n)
    return Evidence.of(terms).looked()


def test_superiority_needs_the_lower_bound_above_min_improvement() -> None:
    clearly_better = decide(evidence(0.05, 0.1, 2000), "superiority", 0.3, SETTINGS)
    assert clearly_better.promoted and clearly_better.threshold == 0.0
    assert clearly_better.reason.startswith("superiority: learner − serving = +0.04")
    assert not decide(evidence(0.0, 0.1, 2000), "superiority", 0.3, SETTINGS).promoted


def test_non_inferiority_lets_an_equal_learner_through_within_the_margin() -> None:
    same = decide(evidence(0.0, 0.05, 5000), "non-inferiority", 0.5, SETTINGS)
    assert same.promoted and same.threshold == pytest.approx(-0.01)  # 2% of the serving value 0.5
    assert not decide(evidence(-0.05, 0.05, 5000), "non-inferiority", 0.5, SETTINGS).promoted


def test_nothing_is_promoted_before_min_events() -> None:
    few = decide(evidence(1.0, 0.1, 99), "superiority", 0.3, SETTINGS)
    assert not few.promoted and few.reason == "superiority: only 99 events scored so far; promotion.min_events is 100"


@pytest.mark.parametrize("rule", ["superiority", "non-inferiority"])
def test_a_worse_learner_is_never_promoted_however_often_the_evidence_is_read(rule: str) -> None:
    """200 seeded lineages of a learner exactly at the threshold (the hardest worse case), the
    rule read after every cycle of 100 events for 50 cycles. The guarantee is a promotion rate
    of at most 2.5% (one side of a 95% sequence); the margin is three binomial deviations."""
    serving_value, runs = 0.5, 200
    threshold = 0.0 if rule == "superiority" else -SETTINGS.margin * serving_value
    promoted = 0
    for seed in range(runs):
        rng, total = np.random.default_rng(seed), Evidence()
        for _ in range(50):
            total = (total + Evidence.of(rng.normal(threshold, 1.0, 100))).looked()
            if decide(total, rule, serving_value, SETTINGS).promoted:
                promoted += 1
                break
    assert promoted <= runs * 0.025 + 3 * math.sqrt(runs * 0.025 * 0.975), promoted
