"""Policy search: try learning settings on the training data and keep the one whose policy
replays best on later events, held out in time.

The sampled training events are split into blocks in time; each setting is trained on the
blocks before each later block and its policy scored, by the promotion metric, on that block,
so that every scored event is later than everything its policy learned from: a setting is
judged on the kind of log it will go on learning from (once a policy serves, the recent
epsilon-greedy events), as it would be judged by continuing, and never on its past. The
settings run in parallel, one per core. The chosen setting's new learner is then judged by
progressive validation (:mod:`trainer.progressive`), on every event before it learns it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Generic, TypeVar

from policy.experiment import Experiment
from policy.exploration import GREEDY
from policy.learning import LearningSettings
from policy.model import Predictions
from policy.records import Clock, utcnow
from replay.estimate import Estimate
from replay.evaluation import PolicyEvaluation, compare, evaluate
from trainer.join import Example
from trainer.scoring import REWARD_MODEL, bandit_log, pmf_targets
from trainer.train import data_file, fit_predict, in_parallel, rows

T = TypeVar("T")


class Sample(Generic[T]):
    """A seeded uniform random sample of at most ``size`` items of a stream (reservoir
    sampling), returned in stream order."""

    def __init__(self, size: int, seed: int) -> None:
        self._size = size
        self._rng = random.Random(seed)
        self._kept: list[tuple[int, T]] = []
        self._seen = 0

    def add(self, item: T) -> None:
        if len(self._kept) < self._size:
            self._kept.append((self._seen, item))
        else:
            slot = self._rng.randrange(self._seen + 1)
            if slot < self._size:
                self._kept[slot] = (self._seen, item)
        self._seen += 1

    def items(self) -> list[T]:
        return [item for _, item in sorted(self._kept, key=lambda kept: kept[0])]


def sample(items: Sequence[T], size: int, seed: int) -> list[T]:
    """A seeded uniform random sample of at most ``size`` of ``items``, in their order."""
    reservoir: Sample[T] = Sample(size, seed)
    for item in items:
        reservoir.add(item)
    return reservoir.items()


@dataclass(frozen=True)
class Trial:
    """One tried setting: its estimate on later events (None when it was skipped), the seconds it
    took, and its evaluation (the per-event terms, for paired comparisons)."""

    settings: LearningSettings
    estimate: Estimate | None
    seconds: float
    evaluation: PolicyEvaluation | None = field(default=None, repr=False, compare=False)

    def as_dict(self, chosen: bool) -> dict[str, Any]:
        return {
            "learning": self.settings.as_dict(),
            "vw_args": self.settings.vw_args(),
            "passes": self.settings.passes,
            "seconds": self.seconds,
            "chosen": chosen,
            "estimate": None if self.estimate is None else self.estimate.as_dict(),
            "status": "chosen" if chosen else "tried" if self.estimate is not None else "skipped: time budget",
        }


@dataclass(frozen=True)
class SearchResult:
    """What a search tried and chose; ``reason`` says why nothing was tried when ``trials`` is
    empty (then ``chosen`` is the starting setting). ``gain`` is the paired estimate of the best
    other setting's value minus the starting one's, at the Bonferroni-corrected ``level``."""

    chosen: LearningSettings
    trials: list[Trial]
    metric: str
    events: int
    folds: int
    seconds: float
    reason: str = ""
    gain: Estimate | None = None

    def as_dict(self) -> dict[str, Any]:
        method = (
            f"{self.folds} blocks in time of {self.events:,} sampled training events: each setting is trained on "
            f"the blocks before each later block and scored by {self.metric.upper()} on it"
        )
        if self.gain is not None:
            verdict = "replaces" if self.chosen != self.trials[0].settings else "does not replace"
            method += (
                f"; the best other setting {verdict} the starting one: its paired gain "
                f"{self.gain.value:+.3f} [{self.gain.low:+.3f}, {self.gain.high:+.3f}] "
                f"({self.gain.level:.2%}, Bonferroni over {len(self.trials) - 1}) "
                f"{'is' if self.gain.low > 0 else 'is not'} above zero"
            )
        return {
            "metric": self.metric,
            "method": self.reason or method,
            "seconds": self.seconds,
            "events": self.events,
            "folds": self.folds,
            "chosen": self.chosen.as_dict(),
            "trials": [t.as_dict(t.estimate is not None and t.settings == self.chosen) for t in self.trials],
        }


def search(
    experiment: Experiment,
    start: LearningSettings,
    sample: Sequence[Example],
    arm_lines: Mapping[str, str],
    *,
    seed: int = 0,
    clock: Clock = utcnow,
) -> SearchResult:
    """Score every candidate of ``experiment.training.search`` around ``start`` (and the
    experiment's configured settings) on later events of ``sample`` (in time order), held out
    in time, and keep ``start`` unless the highest estimate (the earlier candidate on ties) is
    better with confidence (below).

    ``sample`` is cut into ``k = search.folds`` blocks of consecutive events. Each candidate's
    greedy policy is estimated by the promotion metric on one log of the events of blocks 2 to
    ``k``, where each event's target pmf comes from the model trained on the blocks before its
    own, and so do DR's reward predictions (a reward model per block, shared by all
    candidates). Greedy, because the value of the
    policy served with exploration ε is ``(1 − ε) · greedy + ε · uniform`` for IPS and DR: the
    same ranking for any ε < 1, and still a ranking when ε = 1. The sample is encoded once.
    The best candidate replaces ``start`` only if its paired gain over ``start`` (per-event
    differences of their terms on the same events) has a lower bound above zero at the
    promotion confidence, Bonferroni-corrected over the other candidates: so the search moves
    away from settings chosen by measurement only on evidence, not on the noise of a small
    sample (with 5,000 events, near-equal settings swap ranks from seed to seed).
    Candidates are trained in parallel, one per core; those not started within
    ``search.budget_seconds`` of ``clock`` (the service's clock) are skipped (``start`` never
    is). A simulation's clock stands still while it waits for a cycle, so there the budget
    never depends on how fast the machine is. The seconds reported are measured on the
    machine's own timer.
    """
    settings = experiment.training.search
    metric, level, k = experiment.promotion.metric, experiment.promotion.confidence, settings.folds
    started, began_search = clock(), time.perf_counter()
    if len(sample) < max(experiment.promotion.min_events, k):
        return SearchResult(
            start,
            [],
            metric,
            len(sample),
            k,
            0.0,
            f"no search: {len(sample)} training events; it needs promotion.min_events "
            f"({experiment.promotion.min_events})",
        )
    candidates = settings.candidates(start)
    if experiment.training.vw not in candidates:
        candidates.append(experiment.training.vw)
    encoded = list(rows(sample, arm_lines))  # once: every setting trains and predicts on these
    bounds = [len(encoded) * j // k for j in range(k + 1)]
    with ExitStack() as files:
        folds = [
            (files.enter_context(data_file(encoded[: bounds[j]], part)), part)
            for j in range(1, k)
            if (part := encoded[bounds[j] : bounds[j + 1]])
        ]

        def cross_fitted(candidate: LearningSettings) -> Predictions:
            """The predicted rewards of each event of blocks 2 to ``k`` by the model of
            ``candidate`` trained on the blocks before its own, in time order."""
            return Predictions.joined([fit_predict(path, len(part), candidate, seed=seed) for path, part in folds])

        log = bandit_log(sample[bounds[1] :], cross_fitted(REWARD_MODEL))

        def trial(candidate: LearningSettings, skippable: bool) -> Trial:
            if skippable and (clock() - started).total_seconds() > settings.budget_seconds:
                return Trial(candidate, None, 0.0)
            began = time.perf_counter()
            (target,) = pmf_targets(cross_fitted(candidate), [GREEDY])
            evaluated = evaluate(log, target, level)
            return Trial(candidate, evaluated.estimates[metric], time.perf_counter() - began, evaluated)

        trials = in_parallel([partial(trial, c, i > 0) for i, c in enumerate(candidates)])
    first, others = trials[0], [t for t in trials[1:] if t.evaluation is not None]
    gain = None
    chosen = first.settings
    if others and first.evaluation is not None:
        best = max(others, key=lambda t: t.evaluation.estimates[metric].value)  # type: ignore[union-attr]
        corrected = 1.0 - (1.0 - level) / len(others)
        gain = compare(best.evaluation, first.evaluation, metric, corrected)  # type: ignore[arg-type]
        if gain.low > 0:
            chosen = best.settings
    return SearchResult(chosen, trials, metric, len(sample), k, time.perf_counter() - began_search, gain=gain)
