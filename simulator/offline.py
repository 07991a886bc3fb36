"""The simulated shop without a service: explored logs (uniformly, or by a serving policy) and
the true value of a trained policy, for tests and benchmarks of learning."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from policy.decision import choose_action
from policy.exploration import EpsilonGreedy
from policy.features import arm_line, context_line
from policy.learning import LearningSettings
from policy.model import VWModel
from simulator.shop import Context, Shop
from trainer.join import Example

START = datetime(2026, 1, 1, tzinfo=UTC)


def arm_lines(shop: Shop) -> dict[str, str]:
    """The VW line of every layout, by layout id."""
    return {i: arm_line(i, layout) for i, layout in zip(shop.layout_ids, shop.layouts)}


def uniform_log(shop: Shop, n: int, seed: int) -> list[Example]:
    """``n`` visits, one second apart, each shown a layout drawn uniformly at random."""
    rng, k = random.Random(seed), len(shop.layout_ids)
    log = []
    for i in range(n):
        context, shown = shop.visitor(rng), rng.randrange(k)
        log.append(_logged(shop, i, context, shown, 1 / k, shop.draw_reward(context, shown, rng)))
    return log


def _logged(shop: Shop, i: int, context: Context, shown: int, probability: float, reward: float) -> Example:
    """Visit ``i`` (``i`` seconds after ``START``), shown layout ``shown``, as the log holds it."""
    ids = shop.layout_ids
    return Example(f"e{i:08d}", START + timedelta(seconds=i), context, tuple(ids), ids[shown], probability, reward)


def greedy_value(shop: Shop, model: VWModel, visitors: Sequence[Context]) -> float:
    """The exact mean expected reward over ``visitors`` of showing each the layout ``model``
    scores highest."""
    lines = list(arm_lines(shop).values())
    total = 0.0
    for context in visitors:
        scores = model.score(context_line(context), lines)
        total += shop.expected_reward(context, scores.index(max(scores)))
    return total / len(visitors)


def served_log(
    shop: Shop,
    model: VWModel | None,
    n: int,
    epsilon: float,
    seed: int,
    first: int = 0,
    candidate: VWModel | None = None,
    share: float = 0.0,
) -> list[Example]:
    """``n`` visits (numbered from ``first``, one second apart) served by ``model`` (None: no
    policy, uniform scores) with epsilon-greedy exploration, ``share`` of it serving the
    ``candidate``'s greedy choice (:func:`policy.decision.choose_action`), as the service serves
    them: each logged with the exact probability its layout was drawn with."""
    rng, strategy = random.Random(seed), EpsilonGreedy(epsilon)
    lines = list(arm_lines(shop).values())
    log = []
    for i in range(first, first + n):
        context = shop.visitor(rng)
        line = context_line(context)
        scores = model.score(line, lines) if model is not None else [0.0] * len(lines)
        candidate_scores = candidate.score(line, lines) if candidate is not None else None
        choice = choose_action(scores, strategy, rng, candidate=candidate_scores, share=share)
        reward = shop.draw_reward(context, choice.index, rng)
        log.append(_logged(shop, i, context, choice.index, choice.probability, reward))
    return log


def population(shop: Shop) -> list[tuple[Context, float]]:
    """Every visitor context the shop draws, with its probability (:meth:`Shop.visitor`)."""
    features = [[(name, level, p) for level, p in levels.items()] for name, levels in shop.config.population.items()]
    noise = [[(f"noise{i}", f"n{v}", 0.2) for v in range(5)] for i in range(shop.config.noise_features)]
    out = []
    for combo in itertools.product(*features, *noise):
        weight = 1.0
        for _, _, p in combo:
            weight *= p
        out.append(({name: level for name, level, _ in combo}, weight))
    return out


def population_mean(visitors: Sequence[tuple[Context, float]], value: Callable[[Context], float]) -> float:
    """The exact mean of ``value`` over a :func:`population`, weighted by each context's probability."""
    return sum(w * value(c) for c, w in visitors) / sum(w for _, w in visitors)


def true_value(shop: Shop, model: VWModel, visitors: Sequence[tuple[Context, float]]) -> float:
    """The exact expected reward per visitor of the greedy policy of ``model`` over a
    :func:`population` (ties go to the first layout)."""
    lines = list(arm_lines(shop).values())

    def greedy(context: Context) -> float:
        scores = model.score(context_line(context), lines)
        return shop.expected_reward(context, scores.index(max(scores)))

    return population_mean(visitors, greedy)


def oracle_value(shop: Shop, visitors: Sequence[tuple[Context, float]]) -> float:
    """The exact expected reward per visitor of the best layout for each."""
    return population_mean(visitors, lambda c: max(shop.expected_reward(c, i) for i in range(len(shop.layouts))))


def uniform_value(shop: Shop, visitors: Sequence[tuple[Context, float]]) -> float:
    """The exact expected reward per visitor of uniform random."""
    k = len(shop.layouts)
    return population_mean(visitors, lambda c: sum(shop.expected_reward(c, i) for i in range(k)) / k)


def learn(model: VWModel, shop: Shop, log: Sequence[Example]) -> None:
    """Teach ``model`` the logged visits, one by one, in order."""
    lines = list(arm_lines(shop).values())
    for e in log:
        model.learn(context_line(e.context), lines, e.chosen, e.probability, e.reward)


def learning_curve(
    shop: Shop, settings: LearningSettings, *, seed: int, epsilon: float, steps: int = 10, step: int = 5000
) -> list[float]:
    """The true value ÷ oracle of a learner of ``settings`` after every ``step`` events, over
    ``steps`` steps, on the service's own logs.

    The learner first learns ``step`` uniformly explored visits (the first cycle's new learner);
    a copy of it then serves them with epsilon-greedy exploration while the learner goes on
    learning, as every continuing cycle does. Each value is exact over the shop's
    :func:`population`. The first value is the serving policy's.
    """
    visitors = population(shop)
    oracle = oracle_value(shop, visitors)
    learner = VWModel.new(settings, seed=seed)
    try:
        learn(learner, shop, uniform_log(shop, step, seed))
        serving = VWModel.from_bytes(learner.to_bytes())
        try:
            values = [true_value(shop, learner, visitors) / oracle]
            for k in range(1, steps):
                learn(learner, shop, served_log(shop, serving, step, epsilon, seed * 1000 + k, first=k * step))
                values.append(true_value(shop, learner, visitors) / oracle)
        finally:
            serving.close()
    finally:
        learner.close()
    return values
