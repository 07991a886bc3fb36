"""Builders of valid test objects; each test changes only what it is about."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from policy.arms import Arm
from policy.experiment import Experiment
from policy.records import Decision, PolicyRecord, Reward

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def experiment(id: str = "exp", epsilon: float = 0.2, **overrides: Any) -> Experiment:
    arms = overrides.pop(
        "arms", [Arm("a", {"color": "red"}), Arm("b", {"color": "blue"}), Arm("c", {"color": "green"})]
    )
    return Experiment.create(id, arms=arms, epsilon=epsilon, **overrides)


THREE_ARMS: dict[str, Any] = {
    "arms": [
        {"id": "a", "features": {"color": "red"}},
        {"id": "b", "features": {"color": "blue"}},
        {"id": "c", "features": {"color": "green"}},
    ],
    "reward": {"window_seconds": 60},
    "training": {"min_events": 100},
    "promotion": {"min_events": 50},
}
"""The body of the experiment that :func:`experiment` builds, with thresholds that
:func:`log_uniform_traffic` of a few hundred decisions meets."""


def experiment_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "arms": [{"id": "a", "features": {"color": "red"}}, {"id": "b", "features": {"color": "blue"}}],
        "exploration": {"epsilon": 0.2},
    }
    body.update(overrides)
    return body


def decision(**overrides: Any) -> Decision:
    fields: dict[str, Any] = dict(
        event_id=uuid.uuid4().hex,
        experiment="exp",
        ts=T0,
        context={"device": "mobile"},
        actions=("a", "b"),
        action="a",
        probability=0.9,
        pmf=(0.9, 0.1),
        policy_version=0,
        epsilon=0.2,
        explored=False,
        deferred=False,
    )
    fields.update(overrides)
    return Decision(**fields)


def reward(event_id: str = "e1", reward_id: str = "default", value: float = 1.0, ts: datetime = T0) -> Reward:
    return Reward(event_id=event_id, reward_id=reward_id, reward=value, ts=ts)


def policy_record(**overrides: Any) -> PolicyRecord:
    fields: dict[str, Any] = dict(
        experiment="exp",
        version=1,
        status="candidate",
        vw_args="--cb_adf --cb_type mtr",
        learning={"cb_type": "mtr"},
        data_from=T0,
        data_to=T0,
        examples=10,
        join={"examples": 10},
        trained_at=T0,
        train_seconds=0.5,
        reason="",
        metrics=None,
    )
    fields.update(overrides)
    return PolicyRecord(**fields)


BEST_ARM = {"mobile": "b", "desktop": "a", "tablet": "c"}


def log_uniform_traffic(
    store: Any,
    n: int,
    *,
    seed: int = 0,
    ts: datetime = T0,
    experiment_id: str = "exp",
    best: dict[str, str] = BEST_ARM,
    shuffle_rewards: bool = False,
) -> None:
    """Log ``n`` uniformly random decisions over arms a, b, c, half a second apart from ``ts``,
    and their click rewards.

    A visitor clicks with probability 0.8 on the best arm for their device, 0.2 otherwise. With
    ``shuffle_rewards`` the rewards are permuted across decisions, destroying the signal.
    """
    import random

    rng = random.Random(seed)
    arms = ("a", "b", "c")
    decisions, rewards = [], []
    for i in range(n):
        device = rng.choice(list(best))
        action = rng.choice(arms)
        event_id = f"{experiment_id}-{seed}-{i:07d}"
        decisions.append(
            decision(
                event_id=event_id,
                experiment=experiment_id,
                ts=ts + timedelta(seconds=i / 2),
                context={"device": device},
                actions=arms,
                action=action,
                probability=1 / 3,
                pmf=(1 / 3,) * 3,
                epsilon=1.0,
            )
        )
        rewards.append(1.0 if rng.random() < (0.8 if action == best[device] else 0.2) else 0.0)
    if shuffle_rewards:
        rng.shuffle(rewards)
    store.events.insert_decisions(decisions)
    store.events.insert_rewards([reward(d.event_id, "click", r, d.ts) for d, r in zip(decisions, rewards) if r])
