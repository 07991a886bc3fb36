"""One training cycle of an experiment: join, train, register, promote."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from policy.experiment import Experiment
from policy.features import arm_line
from trainer.join import Example, JoinStats, join_rewards
from trainer.records import PolicyRecord
from trainer.storage import TrainerStore
from trainer.train import Progress, train_policy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CycleSummary:
    """What a cycle did: ``status`` is the new policy's (``active``, ``rejected``) or
    ``skipped`` when no policy was registered; ``reason`` says why."""

    experiment: str
    status: str
    reason: str
    version: int | None = None
    join: dict[str, object] = field(default_factory=dict)
    train_seconds: float = 0.0

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
    """Train a candidate on every decision whose attribution window closed before ``now``.

    The candidate is registered and promoted when it was trained on at least
    ``training.min_events`` examples; with fewer, nothing is registered.
    """
    settings = experiment.training
    decided_before = now - timedelta(seconds=experiment.reward.window_seconds)
    stats = JoinStats()
    pass_stats = iter([stats])  # every pass re-reads the store; the first one is counted

    def examples() -> Iterator[Example]:
        return join_rewards(
            store.decisions_by_event(experiment.id, decided_before),
            store.rewards_by_event(),
            store.activated_events(),
            experiment.reward,
            next(pass_stats, JoinStats()),
        )

    arm_lines = {a.id: arm_line(a.id, a.features) for a in experiment.arms}
    started = time.perf_counter()
    model, _ = train_policy(examples, arm_lines, settings.vw, seed=seed, progress=progress)
    try:
        seconds = time.perf_counter() - started
        if stats.examples < settings.min_events:
            reason = f"{stats.examples} examples with closed windows; training.min_events is {settings.min_events}"
            log.info("experiment %s: no candidate: %s", experiment.id, reason)
            return CycleSummary(experiment.id, "skipped", reason, join=stats.as_dict(), train_seconds=seconds)
        version = store.next_policy_version(experiment.id)
        store.insert_policy(
            PolicyRecord(
                experiment=experiment.id, version=version, status="candidate",
                vw_args=settings.vw.vw_args(), learning=asdict(settings.vw),
                data_from=stats.first_ts, data_to=stats.last_ts, examples=stats.examples,
                join=stats.as_dict(), trained_at=now, train_seconds=seconds,
            ),
            model.to_bytes(),
        )
    finally:
        model.close()
    reason = f"trained on {stats.examples} examples (training.min_events {settings.min_events})"
    store.activate_policy(experiment.id, version, reason)
    log.info("experiment %s: policy v%d active: %s", experiment.id, version, reason)
    return CycleSummary(experiment.id, "active", reason, version, stats.as_dict(), seconds)
