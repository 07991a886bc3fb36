"""Choose an arm for a context: score with the model, explore, sample."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from policy.exploration import GREEDY, EpsilonGreedy, greedy_set, sample
from policy.model import Predictions, VWModel


@dataclass(frozen=True)
class Choice:
    """The outcome of one decision over the eligible arms.

    ``probability == pmf[index]`` is the exact probability with which ``index`` was drawn;
    ``explored`` is true when the drawn arm is not one of the model's top-scoring arms;
    ``held_out`` when the visitor was sent to the control group; ``by_candidate`` when the
    candidate's share of the exploration budget drew it (:func:`choose_action`).
    """

    index: int
    probability: float
    pmf: list[float]
    explored: bool
    held_out: bool = False
    by_candidate: bool = False


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


Source = Literal["policy", "candidate", "holdout"]
"""What drew a decision's arm: the serving policy with its exploration, the candidate's
greedy choice (its share of the exploration budget), or the holdout group."""


@dataclass(frozen=True)
class Part:
    """One part of a decision's mixture: drawn with probability ``weight``, it draws an arm
    from its own ``pmf`` over the eligible arms."""

    source: Source
    weight: float
    pmf: list[float]


def mixture(parts: Sequence[Part]) -> list[float]:
    r"""The marginal pmf of drawing a part by its weight, then an arm from the part's pmf:
    :math:`p(a) = \sum_i w_i\,p_i(a)`, the exact probability each arm is drawn with."""
    pmf = [parts[0].weight * p for p in parts[0].pmf]
    for part in parts[1:]:
        pmf = [m + part.weight * p for m, p in zip(pmf, part.pmf)]
    return pmf


def draw(parts: Sequence[Part], rng: random.Random) -> tuple[Source, int]:
    """Draw a part by its weight (no draw when there is only one), then an arm from its pmf;
    return the part's source and the arm's index."""
    part = parts[0]
    if len(parts) > 1:
        u, cumulative = rng.random(), 0.0
        for part in parts:
            cumulative += part.weight
            if u < cumulative:
                break
    return part.source, sample(part.pmf, rng)[0]


def choose_action(
    scores: Sequence[float],
    strategy: EpsilonGreedy,
    rng: random.Random,
    holdout_arm: int | None = None,
    holdout: float = 0.0,
    candidate: Sequence[float] | None = None,
    share: float = 0.0,
) -> Choice:
    r"""Draw one arm for the serving policy's ``scores`` with ``strategy``'s exploration, a
    ``candidate`` policy's scores given ``share`` of the exploration budget, and a holdout.

    With :math:`K` arms, exploration rate :math:`\epsilon`, candidate share :math:`s`, and
    :math:`g`, :math:`g_c` the greedy pmfs of the serving policy and of the candidate (tied
    arms share their mass), the policy serves

    .. math:: \beta(a) = (1 - \epsilon)\,g(a) + \epsilon s\,g_c(a) + \frac{\epsilon (1 - s)}{K}

    (:class:`EpsilonGreedy` when :math:`s = 0` or there is no candidate): the candidate's
    choice takes at most :math:`\epsilon s` of the traffic, and the serving policy keeps its
    :math:`1 - \epsilon`. With a ``holdout`` share :math:`h`, a visitor is first sent to the
    control arm ``holdout_arm`` :math:`a_0` with probability :math:`h`, so the logged pmf is

    .. math:: p(a) = h\,\mathbb{1}[a = a_0] + (1 - h)\,\beta(a),

    the exact marginal probability of each arm (:func:`mixture` of the parts :func:`draw`
    draws from), so off-policy estimates stay valid on all traffic.
    """
    parts = _parts(scores, strategy, candidate, share)
    if holdout_arm is not None and holdout > 0.0:
        control = [0.0] * len(scores)
        control[holdout_arm] = 1.0
        parts = [Part("holdout", holdout, control)] + [replace(p, weight=(1.0 - holdout) * p.weight) for p in parts]
    pmf = mixture(parts) if len(parts) > 1 else parts[0].pmf
    source, index = draw(parts, rng)
    explored = source != "holdout" and index not in greedy_set(scores)
    return Choice(index, pmf[index], pmf, explored, source == "holdout", source == "candidate")


def _parts(
    scores: Sequence[float], strategy: EpsilonGreedy, candidate: Sequence[float] | None, share: float
) -> list[Part]:
    """The policy's parts (see :func:`choose_action`): its ε-greedy pmf alone, or the
    candidate's greedy pmf with weight εs beside the rest of β, renormalised."""
    weight = strategy.epsilon * share
    if candidate is None or weight <= 0.0:
        return [Part("policy", 1.0, strategy.pmf(scores))]
    if len(candidate) != len(scores):
        raise ValueError(f"`candidate` must score the {len(scores)} arms, got {len(candidate)} scores")
    chosen = Part("candidate", weight, GREEDY.pmf(candidate))
    if weight >= 1.0:
        return [chosen]
    serving, floor = GREEDY.pmf(scores), strategy.epsilon * (1.0 - share) / len(scores)
    rest = [((1.0 - strategy.epsilon) * g + floor) / (1.0 - weight) for g in serving]
    return [chosen, Part("policy", 1.0 - weight, rest)]


def fixed_choice(index: int, arms: int) -> Choice:
    """Arm ``index`` with probability 1 (a paused experiment's default arm)."""
    return Choice(index, 1.0, [1.0 if i == index else 0.0 for i in range(arms)], False)
