"""Choose an arm for a context: score with the model, explore, sample."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from policy.exploration import ExplorationStrategy, greedy_set, sample
from policy.model import Predictions, VWModel


@dataclass(frozen=True)
class Choice:
    """The outcome of one decision over the eligible arms.

    ``probability == pmf[index]`` is the exact probability with which ``index`` was drawn;
    ``explored`` is true when the drawn arm is not one of the model's top-scoring arms;
    ``held_out`` when the visitor was sent to the control group.
    """

    index: int
    probability: float
    pmf: list[float]
    explored: bool
    held_out: bool = False


def score_arms(model: VWModel | None, context: str, arm_lines: Sequence[str]) -> tuple[list[float], bool]:
    """Expected reward of each arm for an encoded context (:func:`policy.features.context_line`),
    and whether the model's scores had to be set aside.

    All scores are equal (so exploration is uniform) when there is no model, and when the model
    returns a score that is not finite: a diverged or corrupt model then serves (and is replayed
    as) uniform random, which is logged with its exact probabilities, instead of failing.
    """
    if model is None:
        return [0.0] * len(arm_lines), False
    return usable_scores(model.score(context, arm_lines))


def usable_scores(scores: list[float]) -> tuple[list[float], bool]:
    """``scores``, or all zeros (uniform exploration) if one is not finite, and whether they had
    to be set aside (see :func:`score_arms`)."""
    if all(math.isfinite(s) for s in scores):
        return scores, False
    return [0.0] * len(scores), True


def usable_predictions(predicted: Predictions) -> Predictions:
    """:func:`usable_scores` for every example of a run: an example with a score that is not
    finite has all its scores set to zero."""
    if not len(predicted) or np.all(np.isfinite(predicted.values)):
        return predicted
    bad = np.add.reduceat(~np.isfinite(predicted.values), predicted.offsets[:-1]) > 0
    return Predictions(np.where(np.repeat(bad, np.diff(predicted.offsets)), 0.0, predicted.values), predicted.offsets)


def choose_action(
    scores: Sequence[float],
    strategy: ExplorationStrategy,
    rng: random.Random,
    holdout_arm: int | None = None,
    holdout: float = 0.0,
) -> Choice:
    r"""Turn scores into a pmf with ``strategy`` and draw one arm from it.

    With a ``holdout`` share, a visitor is first sent to the control arm ``holdout_arm`` with
    probability ``holdout``, else served by the policy. The logged pmf is then the mixture

    .. math:: p(a) = h\,\mathbb{1}[a = a_0] + (1 - h)\,\pi(a),

    the exact marginal probability of each arm, so off-policy estimates stay valid on all
    traffic.
    """
    pmf = strategy.pmf(scores)
    if holdout_arm is None or holdout <= 0.0:
        index, probability = sample(pmf, rng)
        return Choice(index, probability, pmf, index not in greedy_set(scores))
    mixture = [(1.0 - holdout) * p for p in pmf]
    mixture[holdout_arm] += holdout
    held_out = rng.random() < holdout
    index = holdout_arm if held_out else sample(pmf, rng)[0]
    return Choice(index, mixture[index], mixture, not held_out and index not in greedy_set(scores), held_out)


def fixed_choice(index: int, arms: int) -> Choice:
    """Arm ``index`` with probability 1 (a paused experiment's default arm)."""
    return Choice(index, 1.0, [1.0 if i == index else 0.0 for i in range(arms)], False)
