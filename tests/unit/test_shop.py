"""The simulated shop: reproducible, and its oracle and baselines are what they claim."""

from __future__ import annotations

import random
import statistics

import pytest

from simulator.shop import Shop, ShopConfig


def test_same_seed_same_visitors_and_rewards() -> None:
    shop = Shop()
    a, b = random.Random(3), random.Random(3)
    assert [shop.visitor(a) for _ in range(50)] == [shop.visitor(b) for _ in range(50)]
    assert [shop.draw_reward({"device": "mobile"}, 0, a) for _ in range(50)] == [
        shop.draw_reward({"device": "mobile"}, 0, b) for _ in range(50)
    ]


def test_layouts_match_the_experiment_arms() -> None:
    shop = Shop()
    assert len(shop.layouts) == 12
    assert shop.layout_ids[0] == "hero=big,cta=green,headline=value"
    assert shop.experiment()["factors"] == {
        "hero": ["big", "small"],
        "cta": ["green", "blue", "orange"],
        "headline": ["value", "urgency"],
    }


def test_the_best_layout_depends_on_the_visitor_and_the_oracle_beats_every_fixed_layout() -> None:
    shop = Shop()
    rng = random.Random(1)
    contexts = [shop.visitor(rng) for _ in range(3000)]
    assert len({shop.best_layout(c) for c in contexts}) >= 3
    oracle = statistics.fmean(shop.expected_reward(c, shop.best_layout(c)) for c in contexts)
    best_fixed = shop.best_fixed_layout(contexts)
    fixed = statistics.fmean(shop.expected_reward(c, best_fixed) for c in contexts)
    assert all(statistics.fmean(shop.expected_reward(c, i) for c in contexts) <= fixed for i in range(12))
    assert oracle > fixed * 1.15  # room for a contextual policy to beat an A/B/n winner


def test_click_rates_match_the_model() -> None:
    """20,000 draws: a binomial proportion's sd is at most 0.0036; allow 5 of them."""
    shop = Shop()
    rng = random.Random(9)
    context = {"device": "mobile", "geo": "DE", "referrer": "google", "noise0": "n1", "noise1": "n2"}
    layout = shop.best_layout(context)
    clicks = statistics.fmean(shop.draw_reward(context, layout, rng) for _ in range(20_000))
    assert clicks == pytest.approx(shop.expected_reward(context, layout), abs=5 * 0.0036)


def test_order_values_have_the_configured_mean() -> None:
    shop = Shop(ShopConfig(reward="order", mean_order_value=40.0))
    rng = random.Random(2)
    context = {"device": "desktop", "geo": "US", "referrer": "direct"}
    values = [shop.draw_reward(context, 0, rng) for _ in range(40_000)]
    baskets = [v for v in values if v]
    assert statistics.fmean(baskets) == pytest.approx(40.0, rel=0.03)
    assert statistics.fmean(values) == pytest.approx(shop.expected_reward(context, 0), rel=0.1)


def test_some_rewards_arrive_after_the_window() -> None:
    shop = Shop(ShopConfig(late_fraction=0.1, window_seconds=2))
    rng = random.Random(4)
    delays = [shop.draw_delay(rng) for _ in range(5000)]
    late = sum(d > 2 for d in delays) / len(delays)
    assert late == pytest.approx(0.1, abs=0.02) and min(delays) >= 0


def test_invalid_config() -> None:
    with pytest.raises(ValueError, match="`reward` must be click or order"):
        ShopConfig(reward="revenue")


def test_a_change_of_tastes_moves_most_visitors_best_layout() -> None:
    shop = Shop()
    drifted = shop.drifted()
    rng = random.Random(3)
    visitors = [shop.visitor(rng) for _ in range(500)]
    moved = sum(shop.best_layout(v) != drifted.best_layout(v) for v in visitors)
    assert moved > 250 and drifted.layout_ids == shop.layout_ids
    assert drifted.drifted().config.effects != shop.config.effects  # it is not simply undone
