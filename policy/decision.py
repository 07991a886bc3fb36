"""Choose an arm for a context: score with the model, explore, sample."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from policy.exploration import ExplorationStrategy, greedy_set, sample
from policy.features import FeatureValue, context_line
from policy.model import VWModel


@dataclass(frozen=True)
class Choice:
    """The outcome of one decision over the eligible arms.

    ``probability == pmf[index]`` is the exact probability with which ``index`` was drawn;
    ``explored`` is true when the drawn arm is not one of the model's top-scoring arms.
    """

    index: int
    probability: float
    pmf: list[float]
    explored: bool


def score_arms(
    model: VWModel | None, context: Mapping[str, FeatureValue], arm_lines: Sequence[str]
) -> list[float]:
    """Expected reward of each arm; all equal (so exploration is uniform) when there is no model."""
    if model is None:
        return [0.0] * len(arm_lines)
    return model.score(context_line(context), arm_lines)


def choose_action(
    scores: Sequence[float], strategy: ExplorationStrategy, rng: random.Random
) -> Choice:
    """Turn scores into a pmf with ``strategy`` and draw one arm from it."""
    pmf = strategy.pmf(scores)
    index, probability = sample(pmf, rng)
    return Choice(index, probability, pmf, index not in greedy_set(scores))
