"""One training cycle of an experiment: join, split, train, replay, register, promote."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from policy.experiment import Experiment
from policy.learning import LearningSettings
from policy.model import VWModel
from policy.records import PolicyRecord
from replay.online import online_comparison
from trainer.join import Example, JoinStats, closed_before, closed_examples
from trainer.replay import REWARD_MODEL, replay_report
from trainer.search import Sample, SearchResult, search
from trainer.storage import TrainerStore
from trainer.train import Progress, train_policies

log = logging.getLogger(__name__)

CycleStatus = Literal["active", "rejected", "skipped"]


@dataclass(frozen=True)
class CycleSummary:
    """What a cycle did: ``status`` is the candidate's (``active`` when promoted, else
    ``rejected``) or ``skipped`` when no candidate was trained; ``reason`` says why."""

    experiment: str
    status: CycleStatus
    reason: str
    version: int | None = None
    join: dict[str, Any] = field(default_factory=dict)
    train_seconds: float = 0.0
    train_events: int = 0
    holdout_events: int = 0

    @property
    def examples(self) -> int:
        return int(self.join.get("examples", 0))


class CycleData:
    """A cycle's closed-window examples split by decision time: the training part (older than
    ``split_ts``) and the held-out part (from ``split_ts``, the newest
    ``promotion.holdout_fraction`` of the decisions).

    :meth:`training` streams the training part from the store at every call; the first call
    also collects the held-out examples, a random sample of the training part for the search,
    the join's counts and the rewards of each serving group.
    """

    def __init__(self, store: TrainerStore, experiment: Experiment, now: datetime, seed: int) -> None:
        self._store, self._experiment, self._now = store, experiment, now
        self.split_ts = store.split_time(
            experiment.id, None, closed_before(experiment, now), experiment.promotion.holdout_fraction
        )
        self.stats = JoinStats()
        self.held_out: list[Example] = []
        search = experiment.training.search
        self.sample: Sample[Example] = Sample(search.max_events if search.enabled else 0, seed)
        self.rewards_by_group: dict[str, list[float]] = defaultdict(list)
        self._collected = False

    def training(self) -> Iterator[Example]:
        collecting, self._collected = not self._collected, True
        for example in closed_examples(
            self._store, self._experiment, self._now, self.stats if collecting else JoinStats()
        ):
            held_out = self.split_ts is not None and example.ts >= self.split_ts
            if collecting:
                self.rewards_by_group[example.group].append(example.reward)
                if held_out:
                    self.held_out.append(example)
                else:
                    self.sample.add(example)
            if not held_out:
                yield example

    @property
    def train_events(self) -> int:
        return self.stats.examples - len(self.held_out)


def run_cycle(
    store: TrainerStore,
    experiment: Experiment,
    now: datetime,
    *,
    seed: int = 0,
    progress: Progress | None = None,
) -> CycleSummary:
    """Train a candidate on the older part of the closed-window data, replay it on the newest
    part, and promote it only if the experiment's promotion gate passes.

    Every decision whose attribution window closed before ``now`` is joined; the newest
    ``promotion.holdout_fraction`` (by decision time) is held out. With fewer than
    ``training.min_events`` training examples nothing is registered. Otherwise, with
    ``training.search`` on, the learning settings are searched on the training part (see
    :func:`trainer.search.search`) before the candidate is trained with the chosen ones on the
    whole training part. The candidate is registered as ``active`` or ``rejected`` with the
    gate's reason and its settings, and a replay report is stored either way.
    """
    data = CycleData(store, experiment, now, seed)
    arm_lines = experiment.arm_lines
    searching = experiment.training.search.enabled
    started = time.perf_counter()
    # the first read trains DR's reward model, and the candidate too when its settings are known
    models = train_policies(
        data.training,
        arm_lines,
        [REWARD_MODEL] + ([] if searching else [experiment.training.vw]),
        seed=seed,
        progress=progress,
    )
    reward_model = models[0]
    candidate = None if searching else models[1]
    active_model = None
    try:
        if data.train_events < experiment.training.min_events:
            reason = (
                f"{data.train_events} training examples (of {data.stats.examples} with closed windows); "
                f"training.min_events is {experiment.training.min_events}"
            )
            log.info("experiment %s: no candidate: %s", experiment.id, reason)
            return CycleSummary(
                experiment.id,
                "skipped",
                reason,
                join=data.stats.as_dict(),
                train_seconds=time.perf_counter() - started,
                train_events=data.train_events,
                holdout_events=len(data.held_out),
            )
        found = _search(store, experiment, data, seed) if searching else None
        settings = found.chosen if found else experiment.training.vw
        if candidate is None:
            (candidate,) = train_policies(data.training, arm_lines, [settings], seed=seed, progress=progress)
        seconds = time.perf_counter() - started
        version = store.next_policy_version(experiment.id)
        active_model = _load_active(store, experiment)
        report, verdict = replay_report(
            experiment,
            data.held_out,
            arm_lines,
            candidate=(version, candidate),
            active=(experiment.active_policy if active_model else None, active_model),
            reward_model=reward_model,
            train_events=data.train_events,
            split_ts=data.split_ts,
            now=now,
        )
        report["online"] = online_comparison(data.rewards_by_group, experiment.promotion.confidence)
        report["search"] = found.as_dict() if found else None
        status: CycleStatus = "active" if verdict.promoted else "rejected"
        store.insert_policy(
            PolicyRecord(
                experiment=experiment.id,
                version=version,
                status="candidate",
                vw_args=settings.vw_args(),
                learning=settings.as_dict(),
                data_from=data.stats.first_ts,
                data_to=data.split_ts or data.stats.last_ts,
                examples=data.train_events,
                join=data.stats.as_dict(),
                trained_at=now,
                train_seconds=seconds,
                reason=verdict.reason,
                metrics={"comparison": report["comparison"], "holdout_events": len(data.held_out)},
            ),
            candidate.to_bytes(),
        )
        store.insert_report(report)
    finally:
        for model in (candidate, reward_model, active_model):
            if model is not None:
                model.close()
    if verdict.promoted:
        store.activate_policy(experiment.id, version, verdict.reason)
    else:
        store.reject_policy(experiment.id, version, verdict.reason)
    log.info("experiment %s: candidate v%d %s: %s", experiment.id, version, status, verdict.reason)
    return CycleSummary(
        experiment.id,
        status,
        verdict.reason,
        version,
        data.stats.as_dict(),
        seconds,
        data.train_events,
        len(data.held_out),
    )


def run_search(store: TrainerStore, experiment: Experiment, now: datetime, *, seed: int = 0) -> SearchResult:
    """Search the learning settings on the experiment's closed-window data as a cycle at ``now``
    would, without training or registering a candidate."""
    data = CycleData(store, experiment, now, seed)
    for _ in data.training():
        pass
    return _search(store, experiment, data, seed)


def _search(store: TrainerStore, experiment: Experiment, data: CycleData, seed: int) -> SearchResult:
    """Search around the settings the last cycle chose (the configured ones at first, or when
    the last ones no longer make valid settings)."""
    latest = store.latest_policy(experiment.id)
    try:
        start = LearningSettings(**latest.learning) if latest is not None else experiment.training.vw
    except (TypeError, ValueError):
        start = experiment.training.vw
    found = search(experiment, start, data.sample.items(), experiment.arm_lines, seed=seed)
    log.info("experiment %s: search chose %s in %.1f s", experiment.id, found.chosen.vw_args(), found.seconds)
    return found


def _load_active(store: TrainerStore, experiment: Experiment) -> VWModel | None:
    """The active policy's model, or None if there is none or it cannot be loaded (then the
    candidate is compared with uniform scores, as a worker without a policy would serve)."""
    if experiment.active_policy is None:
        return None
    data = store.policy_model(experiment.id, experiment.active_policy)
    try:
        return VWModel.from_bytes(data) if data is not None else None
    except ValueError:
        log.exception("experiment %s: active policy v%d cannot be loaded", experiment.id, experiment.active_policy)
        return None
