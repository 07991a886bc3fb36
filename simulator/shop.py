"""A simulated shop: visitors, a hidden reward model over context × layout, and its oracle.

The default shop sells on a home page with three factors (2 heroes × 3 call-to-action colours ×
2 headlines = 12 layouts). Visitors have a device, a country and a referrer, plus optional noise
features that carry no signal. A visitor clicks with a logistic probability made of main effects
of the layout's factors, context-by-factor interactions (what makes the best layout depend on the
visitor) and a factor-by-factor interaction (as in real multivariate tests). Rewards are clicks
(0/1) or order values (a click times a seeded log-normal basket), and arrive after a random
delay, some after the attribution window. Everything is seeded and reproducible.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

Context = dict[str, str]
Layout = dict[str, str]

FACTORS: dict[str, list[str]] = {
    "hero": ["big", "small"],
    "cta": ["green", "blue", "orange"],
    "headline": ["value", "urgency"],
}
POPULATION: dict[str, dict[str, float]] = {
    "device": {"mobile": 0.55, "desktop": 0.35, "tablet": 0.10},
    "geo": {"DE": 0.3, "FR": 0.2, "US": 0.3, "UK": 0.2},
    "referrer": {"google": 0.4, "direct": 0.3, "email": 0.15, "social": 0.15},
}


@dataclass(frozen=True)
class Effect:
    """``weight`` is added to the click logit when every ``condition`` (feature → value, over
    the visitor's context and the layout's levels) holds."""

    weight: float
    condition: Mapping[str, str]


DEFAULT_EFFECTS: tuple[Effect, ...] = (
    # main effects of the layout
    Effect(0.25, {"cta": "orange"}),
    Effect(0.15, {"headline": "urgency"}),
    # context-by-factor interactions: the best layout depends on the visitor
    Effect(1.0, {"device": "mobile", "hero": "small"}),
    Effect(-0.5, {"device": "mobile", "hero": "big"}),
    Effect(0.8, {"device": "desktop", "hero": "big"}),
    Effect(0.9, {"referrer": "email", "headline": "value"}),
    Effect(-0.4, {"referrer": "email", "headline": "urgency"}),
    Effect(0.7, {"geo": "DE", "cta": "blue"}),
    Effect(0.5, {"geo": "FR", "cta": "blue"}),
    Effect(0.6, {"referrer": "social", "cta": "green"}),
    # a factor-by-factor interaction
    Effect(0.4, {"hero": "small", "cta": "green"}),
)


@dataclass(frozen=True)
class ShopConfig:
    """What the simulated shop looks like; the defaults are the README's shop."""

    factors: Mapping[str, Sequence[str]] = field(default_factory=lambda: dict(FACTORS))
    population: Mapping[str, Mapping[str, float]] = field(default_factory=lambda: dict(POPULATION))
    effects: tuple[Effect, ...] = DEFAULT_EFFECTS
    base_logit: float = -2.6
    noise_features: int = 2
    reward: str = "click"
    mean_order_value: float = 40.0
    mean_delay_seconds: float = 0.3
    late_fraction: float = 0.03
    window_seconds: int = 2

    def __post_init__(self) -> None:
        if self.reward not in ("click", "order"):
            raise ValueError(f"`reward` must be click or order, got {self.reward!r}")
        if not 0 <= self.late_fraction < 1:
            raise ValueError(f"`late_fraction` must be in [0, 1), got {self.late_fraction!r}")


class Shop:
    """The simulated shop: draws visitors and rewards, and knows the true expected rewards."""

    def __init__(self, config: ShopConfig | None = None) -> None:
        self.config = config or ShopConfig()
        names = list(self.config.factors)
        self.layouts: list[Layout] = [
            dict(zip(names, combo)) for combo in itertools.product(*self.config.factors.values())
        ]
        self.layout_ids: list[str] = [",".join(f"{k}={v}" for k, v in layout.items()) for layout in self.layouts]

    def visitor(self, rng: random.Random) -> Context:
        """A visitor's context: population features, then noise features with no effect."""
        context = {
            name: rng.choices(list(levels), weights=list(levels.values()))[0]
            for name, levels in self.config.population.items()
        }
        for i in range(self.config.noise_features):
            context[f"noise{i}"] = f"n{rng.randrange(5)}"
        return context

    def click_probability(self, context: Mapping[str, str], layout: Mapping[str, str]) -> float:
        features = {**context, **layout}
        z = self.config.base_logit + sum(
            e.weight for e in self.config.effects if all(features.get(k) == v for k, v in e.condition.items())
        )
        return 1.0 / (1.0 + math.exp(-z))

    def expected_reward(self, context: Mapping[str, str], layout: int) -> float:
        """The true mean reward of showing layout ``layout`` (index) to this visitor."""
        p = self.click_probability(context, self.layouts[layout])
        return p if self.config.reward == "click" else p * self.config.mean_order_value

    def draw_reward(self, context: Mapping[str, str], layout: int, rng: random.Random) -> float:
        """A realised reward: a click (0/1), or an order value (0 or a log-normal basket whose
        mean is ``mean_order_value``)."""
        clicked = rng.random() < self.click_probability(context, self.layouts[layout])
        if self.config.reward == "click" or not clicked:
            return float(clicked)
        sigma = 0.5
        return round(self.config.mean_order_value * math.exp(rng.gauss(-(sigma**2) / 2, sigma)), 2)

    def draw_delay(self, rng: random.Random) -> float:
        """Seconds until the reward arrives: usually well inside the attribution window, with
        probability ``late_fraction`` just after it."""
        if rng.random() < self.config.late_fraction:
            return self.config.window_seconds * (1.2 + 0.3 * rng.random())
        return min(rng.expovariate(1.0 / self.config.mean_delay_seconds), self.config.window_seconds * 0.8)

    @property
    def attributed_share(self) -> float:
        """The share of the expected reward that arrives within the attribution window, which is
        all the service can learn or replay: late rewards are drawn independently of the
        visitor, layout and reward."""
        return 1.0 - self.config.late_fraction

    def best_layout(self, context: Mapping[str, str]) -> int:
        """The oracle's layout for this visitor."""
        values = [self.expected_reward(context, i) for i in range(len(self.layouts))]
        return values.index(max(values))

    def best_fixed_layout(self, contexts: Sequence[Mapping[str, str]]) -> int:
        """The single layout with the highest mean reward over ``contexts``: what a classic
        A/B/n test would ship."""
        totals = [sum(self.expected_reward(c, i) for c in contexts) for i in range(len(self.layouts))]
        return totals.index(max(totals))

    def drifted(self) -> Shop:
        """The same shop after its visitors' tastes changed: every context-by-factor effect now
        favours another level of its factor (the next one, in declaration order), so the best
        layout of most visitors changes while the layouts, visitors and main effects stay."""

        def moved(effect: Effect) -> Effect:
            condition = dict(effect.condition)
            for name, level in effect.condition.items():
                levels = list(self.config.factors.get(name, ()))
                if len(levels) > 1 and len(condition) > 1 and name in self.config.factors:
                    condition[name] = levels[(levels.index(level) + 1) % len(levels)]
            return Effect(effect.weight, condition)

        return Shop(replace(self.config, effects=tuple(moved(e) for e in self.config.effects)))

    def experiment(
        self, epsilon: float = 0.2, candidate_share: float | None = None, **extra: object
    ) -> dict[str, object]:
        """The experiment definition (PUT body) of this shop's page (``candidate_share`` None:
        the service's default)."""
        exploration: dict[str, float] = {"epsilon": epsilon}
        if candidate_share is not None:
            exploration["candidate_share"] = candidate_share
        return {
            "factors": {k: list(v) for k, v in self.config.factors.items()},
            "exploration": exploration,
            "reward": {"window_seconds": self.config.window_seconds, "default": 0.0, "aggregate": "sum"},
            **extra,
        }
