"""One training cycle of an experiment: join, split, train, replay, register, promote."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from policy.experiment import Experiment
from policy.features import arm_line
from policy.model import VWModel
from replay.online import online_comparison
from trainer.join import Example, JoinStats, closed_examples
from trainer.records import PolicyRecord
from trainer.replay import REWARD_MODEL, replay_report
from trainer.storage import TrainerStore
from trainer.train import Progress, train_policies

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CycleSummary:
    """What a cycle did: ``status`` is the candidate's (``active`` when promoted, else
    ``rejected``) or ``skipped`` when no candidate was trained; ``reason`` says why."""

    experiment: str
    status: str
    reason: str
    version: int | None = None
    join: dict[str, object] = field(default_factory=dict)
    train_seconds: float = 0.0
    train_events: int = 0
    holdout_events: int = 0

    @property
    def examples(self) -> int:
        return int(self.join.get("examples", 0))


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
    ``training.min_events`` training examples nothing is registered. Otherwise the candidate is
    registered as ``active`` or ``rejected`` with the gate's reason, and a replay report is
    stored either way.
    """
    decided_before = now - timedelta(seconds=experiment.reward.window_seconds)
    split_ts = store.split_time(experiment.id, decided_before, experiment.promotion.holdout_fraction)
    stats = JoinStats()
    held_out: list[Example] = []
    rewards_by_group: dict[str, list[float]] = defaultdict(list)
    first_pass = iter([True])

    def training_examples() -> Iterator[Example]:
        collecting = next(first_pass, False)  # every pass re-reads the store; the first counts
        for example in closed_examples(store, experiment, now, stats if collecting else JoinStats()):
            if collecting:
                rewards_by_group[example.group].append(example.reward)
            if split_ts is None or example.ts < split_ts:
                yield example
            elif collecting:
                held_out.append(example)

    arm_lines = {a.id: arm_line(a.id, a.features) for a in experiment.arms}
    started = time.perf_counter()
    candidate, reward_model = train_policies(training_examples, arm_lines, [experiment.training.vw, REWARD_MODEL],
                                             seed=seed, progress=progress)
    seconds = time.perf_counter() - started
    train_events = stats.examples - len(held_out)
    active_model = None
    try:
        if train_events < experiment.training.min_events:
            reason = (f"{train_events} training examples (of {stats.examples} with closed windows); "
                      f"training.min_events is {experiment.training.min_events}")
            log.info("experiment %s: no candidate: %s", experiment.id, reason)
            return CycleSummary(experiment.id, "skipped", reason, join=stats.as_dict(), train_seconds=seconds,
                                train_events=train_events, holdout_events=len(held_out))
        version = store.next_policy_version(experiment.id)
        active_model = _load_active(store, experiment)
        report, verdict = replay_report(
            experiment, held_out, arm_lines, candidate=(version, candidate),
            active=(experiment.active_policy if active_model else None, active_model),
            reward_model=reward_model, train_events=train_events, split_ts=split_ts, now=now,
        )
        report["online"] = online_comparison(rewards_by_group, experiment.promotion.confidence)
        status = "active" if verdict.promoted else "rejected"
        store.insert_policy(
            PolicyRecord(
                experiment=experiment.id, version=version, status="candidate",
                vw_args=experiment.training.vw.vw_args(), learning=asdict(experiment.training.vw),
                data_from=stats.first_ts, data_to=split_ts or stats.last_ts, examples=train_events,
                join=stats.as_dict(), trained_at=now, train_seconds=seconds, reason=verdict.reason,
                metrics={"comparison": report["comparison"], "holdout_events": len(held_out)},
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
    return CycleSummary(experiment.id, status, verdict.reason, version, stats.as_dict(), seconds,
                        train_events, len(held_out))


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
