"""Progressive validation: each event is scored by the learner before the learner learns it, and
by the serving policy, so that every event both trains and tests.

The learner's own scores, made before it saw the event, are DR's reward model for that event:
never fitted on it, and shared by every policy evaluated on it, so paired differences use one
model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from policy.decision import score_arms
from policy.exploration import ExplorationStrategy
from policy.model import VWModel
from replay.log import BanditLog
from trainer.join import Example
from trainer.scoring import GREEDY
from trainer.train import PROGRESS_EVERY, Progress, encode


@dataclass(frozen=True)
class Scored:
    """A cycle's events as a bandit log (``predicted``: the learner's scores before each
    update), and the flat pmf of each policy on them: the learner and the serving policy (no
    model: uniform), with the experiment's exploration and greedy."""

    log: BanditLog
    learner: np.ndarray
    learner_greedy: np.ndarray
    serving: np.ndarray
    serving_greedy: np.ndarray


def score_and_learn(
    learner: VWModel,
    serving: VWModel | None,
    examples: Sequence[Example],
    arm_lines: Mapping[str, str],
    strategy: ExplorationStrategy,
    progress: Progress | None = None,
) -> Scored:
    """Score every example, in order, with both models, then teach it to the learner.

    Raises
    ------
    ValueError
        If ``examples`` is empty.
    """
    if not examples:
        raise ValueError("`examples` is empty: there is nothing to score")
    predicted: list[list[float]] = []
    pmfs: list[list[float]] = [[], [], [], []]
    for i, example in enumerate(examples, start=1):
        context, lines = encode(example, arm_lines)
        learner_scores, _ = score_arms(learner, context, lines)
        serving_scores, _ = score_arms(serving, context, lines)
        for flat, scores, rule in zip(
            pmfs,
            (learner_scores, learner_scores, serving_scores, serving_scores),
            (strategy, GREEDY, strategy, GREEDY),
        ):
            flat.extend(rule.pmf(scores))
        predicted.append(learner_scores)
        learner.learn(context, lines, example.chosen, example.probability, example.reward)
        if progress is not None and i % PROGRESS_EVERY == 0:
            progress(i)
    log = BanditLog.build(
        [e.actions for e in examples],
        [e.chosen for e in examples],
        [e.probability for e in examples],
        [e.reward for e in examples],
        predicted,
    )
    learner_pmf, learner_greedy, serving_pmf, serving_greedy = (np.asarray(p) for p in pmfs)
    return Scored(log, learner_pmf, learner_greedy, serving_pmf, serving_greedy)
