"""Every event a cycle learns is also scored, by the learner as it would be judged and by the
serving policy, so that every event both trains and tests.

- **A continued learner** (progressive validation): each event is scored by the learner before
  it learns it, so the learner is judged as it stood at every event, having learned all the
  events before it.
- **The candidate** (``as_offered``): when the learner continued is the candidate that was
  offered while these events were served, each event is scored by it as it was offered, before
  it learns any of them. Its choices got the candidate's share of the exploration, so the events
  where it differs from the serving policy are well supported; the learner as it changes during
  the cycle strays from them (on the simulated shop, the per-event differences' standard
  deviation is 0.7–0.9 judged as offered against 1.4–3.5 progressively).
- **A new learner** (cross-fitting): a learner that starts from nothing would be judged, on its
  first events, as it stood before it had learned anything, which understates what it is once
  trained (measured on the simulated shop's first 5,000 uniformly explored events, over 16
  seeds: by −0.011 ± 0.005 per visitor for its greedy value). So each event is scored instead
  by a learner of the same settings trained, all its passes, on the other folds
  (``CROSS_FIT_FOLDS``, event ``i`` in fold ``i mod CROSS_FIT_FOLDS``): a learner trained on
  four fifths of the events, which has not seen this one (there: +0.002 ± 0.007).

These scores are DR's reward model for each event too: never fitted on it, and shared by every
policy evaluated on it, so paired differences use one model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from policy.exploration import GREEDY, ExplorationStrategy
from policy.learning import LearningSettings
from policy.model import Predictions, VWModel
from replay.log import BanditLog
from trainer.join import Example
from trainer.scoring import bandit_log, pmf_targets
from trainer.train import Progress, Row, data_file, fit_predict, in_parallel, rows

CROSS_FIT_FOLDS = 5
"""Folds of a new learner's cross-fitting (see the module): each event is scored by a learner
trained on the other ``CROSS_FIT_FOLDS - 1`` folds."""


@dataclass(frozen=True)
class Scored:
    """A cycle's events as a bandit log (``predicted``: the learner's scores of each event, by a
    learner that had not learned it: see the module), and the flat pmf of each policy on them:
    the learner and the serving policy (no model: uniform), with the experiment's exploration
    and greedy."""

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
    as_offered: bool = False,
    judged_from: int = 0,
    progress: Progress | None = None,
) -> tuple[VWModel, Scored]:
    """Teach every example, in order, to the learner (a new model of these settings, or the
    saved model to continue) in ``passes`` passes, and score every example with it as the
    module says (a continued learner: before it learns each, or, ``as_offered``, as it was
    before it learned any; a new one: cross-fitted), and with the serving model (None:
    uniform). The learner and the serving model are VW runs over one data file, side by side;
    so are the folds and the learner as offered. The scores returned are those of the examples
    from index ``judged_from`` on (all are learned).

    Returns the learner after its last pass, and the scores.

    Raises
    ------
    ValueError
        If ``examples`` is empty, a saved model cannot be loaded, or ``as_offered`` is asked
        of a new learner.
    """
    if not examples:
        raise ValueError("`examples` is empty: there is nothing to score")
    if as_offered and not isinstance(learner, bytes):
        raise ValueError("only a saved learner can be judged as it was offered")
    n = len(examples)
    crossed = isinstance(learner, LearningSettings) and n >= CROSS_FIT_FOLDS
    kept = list(rows(examples, arm_lines)) if crossed else None  # encoded once: the folds read them again
    with data_file(kept if kept is not None else rows(examples, arm_lines), progress=progress) as path:
        runs = [lambda: VWModel.run(path, learner, passes=passes, seed=seed)]
        if serving is not None:
            runs.append(lambda: VWModel.run(path, serving, learn=False))
        if as_offered:
            runs.append(lambda: VWModel.run(path, learner, learn=False))
        done = in_parallel(runs, lambda run: run[0].close())
    for other, _ in done[1:]:
        other.close()
    model, learned = done[0]
    learned = done[-1][1] if as_offered else learned.part(0, n)  # part: the first pass, each event unlearned
    if kept is not None and isinstance(learner, LearningSettings):
        try:
            learned = cross_fitted(kept, learner, seed=seed)
        except BaseException:
            model.close()
            raise
    served = done[1][1] if serving is not None else Predictions(np.zeros_like(learned.values), learned.offsets)
    if judged_from:
        learned, served, examples = learned.part(judged_from, n), served.part(judged_from, n), examples[judged_from:]
    learner_pmf, learner_greedy = pmf_targets(learned, [strategy, GREEDY])
    serving_pmf, serving_greedy = pmf_targets(served, [strategy, GREEDY])
    log = bandit_log(examples, learned)
    return model, Scored(log, learner_pmf, learner_greedy, serving_pmf, serving_greedy)


def cross_fitted(encoded: Sequence[Row], settings: LearningSettings, *, seed: int = 0) -> Predictions:
    """Each row's predicted rewards by a model of ``settings`` trained, all its passes, on the
    rows of the other folds, in order (row ``i`` is in fold ``i mod CROSS_FIT_FOLDS``); the folds
    train side by side."""

    def fold(f: int) -> Predictions:
        held = encoded[f::CROSS_FIT_FOLDS]
        rest = (row for i, row in enumerate(encoded) if i % CROSS_FIT_FOLDS != f)
        with data_file(rest, held) as path:
            return fit_predict(path, len(held), settings, seed=seed)

    folds = in_parallel([partial(fold, f) for f in range(CROSS_FIT_FOLDS)])
    by_row = [
        folds[i % CROSS_FIT_FOLDS].part(i // CROSS_FIT_FOLDS, i // CROSS_FIT_FOLDS + 1) for i in range(len(encoded))
    ]
    return Predictions.joined(by_row)
