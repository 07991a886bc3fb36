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

from policy.exploration import GREEDY, ExplorationStrategy
from policy.learning import LearningSettings
from policy.model import Predictions, VWModel
from replay.log import BanditLog
from trainer.join import Example
from trainer.scoring import bandit_log, pmf_targets
from trainer.train import Progress, data_file, in_parallel, rows


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
    learner: LearningSettings | bytes,
    serving: bytes | None,
    examples: Sequence[Example],
    arm_lines: Mapping[str, str],
    strategy: ExplorationStrategy,
    *,
    passes: int = 1,
    seed: int = 0,
    progress: Progress | None = None,
) -> tuple[VWModel, Scored]:
    """Teach every example, in order, to the learner (a new model of these settings, or the
    saved model to continue), which scores each before it learns it, in ``passes`` passes;
    score every example with the serving model too (None: uniform). Both are VW runs over one
    data file, side by side.

    Returns the learner after its last pass, and the scores of its first.

    Raises
    ------
    ValueError
        If ``examples`` is empty, or a saved model cannot be loaded.
    """
    if not examples:
        raise ValueError("`examples` is empty: there is nothing to score")
    n = len(examples)
    with data_file(rows(examples, arm_lines), progress=progress) as path:
        runs = [lambda: VWModel.run(path, learner, passes=passes, seed=seed)]
        if serving is not None:
            runs.append(lambda: VWModel.run(path, serving, learn=False))
        done = in_parallel(runs, lambda run: run[0].close())
    model, learned = done[0]
    learned = learned.part(0, n)  # the first pass: each event scored before it was learned
    served = done[1][1] if serving is not None else Predictions(np.zeros_like(learned.values), learned.offsets)
    if serving is not None:
        done[1][0].close()
    learner_pmf, learner_greedy = pmf_targets(learned, [strategy, GREEDY])
    serving_pmf, serving_greedy = pmf_targets(served, [strategy, GREEDY])
    log = bandit_log(examples, learned)
    return model, Scored(log, learner_pmf, learner_greedy, serving_pmf, serving_greedy)
