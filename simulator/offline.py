"""The simulated shop without a service: uniformly explored logs and the true value of a
trained policy, for tests and benchmarks of learning."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from policy.features import arm_line, context_line
from policy.model import VWModel
from simulator.shop import Context, Shop
from trainer.join import Example

START = datetime(2026, 1, 1, tzinfo=UTC)


def arm_lines(shop: Shop) -> dict[str, str]:
    """The VW line of every layout, by layout id."""
    return {i: arm_line(i, layout) for i, layout in zip(shop.layout_ids, shop.layouts)}


def uniform_log(shop: Shop, n: int, seed: int) -> list[Example]:
    """``n`` visits, one second apart, each shown a layout drawn uniformly at random."""
    rng = random.Random(seed)
    ids, k = shop.layout_ids, len(shop.layout_ids)
    log = []
    for i in range(n):
        context, shown = shop.visitor(rng), rng.randrange(k)
        log.append(
            Example(
                f"e{i:08d}",
                START + timedelta(seconds=i),
                context,
                tuple(ids),
                ids[shown],
                1 / k,
                shop.draw_reward(context, shown, rng),
            )
        )
    return log


def greedy_value(shop: Shop, model: VWModel, visitors: Sequence[Context]) -> float:
    """The exact mean expected reward over ``visitors`` of showing each the layout ``model``
    scores highest."""
    lines = list(arm_lines(shop).values())
    total = 0.0
    for context in visitors:
        scores = model.score(context_line(context), lines)
        total += shop.expected_reward(context, scores.index(max(scores)))
    return total / len(visitors)
