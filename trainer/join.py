"""Join reward events to decisions: the training examples of one experiment.

The join is a single merge over three streams of one experiment sorted by ``(decision time,
event id)``: its decisions, their reward events and their activations. It is linear in their
lengths, holds one decision's rewards in memory at a time and makes no query per decision; the
events of other experiments, and events whose decision never came, are never read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import fmean
from typing import Any, Generic, TypeVar

from policy.experiment import Aggregate, Experiment, RewardSettings
from policy.features import FeatureValue
from policy.records import Decision, Reward, Unreadable
from store.records import Key
from store.repositories import Store

T = TypeVar("T")


@dataclass(frozen=True)
class Example:
    """A decision with its attributed reward: what the policy learns from."""

    event_id: str
    ts: datetime
    context: Mapping[str, FeatureValue]
    actions: tuple[str, ...]
    action: str
    probability: float
    reward: float
    pmf: tuple[float, ...] = ()
    group: str = "bandit"

    @property
    def chosen(self) -> int:
        """Index of the shown arm in ``actions``."""
        return self.actions.index(self.action)


@dataclass
class JoinStats:
    """Counts of what a join saw; ``first_ts``/``last_ts`` bound the examples' decision times.
    ``unreadable`` and ``rewards_unreadable`` count stored documents that were no valid
    decision or reward: skipped, never fatal."""

    decisions: int = 0
    unreadable: int = 0
    rewards_unreadable: int = 0
    examples: int = 0
    not_activated: int = 0
    defaulted: int = 0
    rewards_joined: int = 0
    rewards_early: int = 0
    rewards_late: int = 0
    first_ts: datetime | None = None
    last_ts: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


COMBINE: Mapping[Aggregate, Callable[[list[float]], float]] = {
    "sum": lambda values: float(sum(values)),
    "mean": fmean,
    "max": max,
    "min": min,
    "first": lambda values: values[0],
    "last": lambda values: values[-1],
}
"""How each ``reward.aggregate`` combines a decision's reward values, ordered by time."""


def aggregate(rewards: list[Reward], how: Aggregate) -> float:
    """Combine the reward events of one decision, ordered by time (ties by ``reward_id``):
    ``sum``, ``mean``, ``max``, ``min`` of the values, or the value of the ``first`` or ``last``
    event."""
    return COMBINE[how]([r.reward for r in sorted(rewards, key=lambda r: (r.ts, r.reward_id))])


class _SortedStream(Generic[T]):
    """A stream sorted by :data:`Key` that can be advanced to a key."""

    def __init__(self, items: Iterable[T], key: Callable[[T], Key]) -> None:
        self._items = iter(items)
        self._key = key
        self._head: T | None = next(self._items, None)

    def take(self, key: Key) -> list[T]:
        """Skip items before ``key``; return (and consume) the items at it."""
        while self._head is not None and self._key(self._head) < key:
            self._head = next(self._items, None)
        taken = []
        while self._head is not None and self._key(self._head) == key:
            taken.append(self._head)
            self._head = next(self._items, None)
        return taken


def join_rewards(
    decisions: Iterable[Decision | Unreadable],
    rewards: Iterable[Reward | Unreadable],
    activations: Iterable[Key],
    settings: RewardSettings,
    stats: JoinStats | None = None,
) -> Iterator[Example]:
    """Yield one example per shown decision, with its reward attributed.

    Parameters
    ----------
    decisions
        Decisions whose attribution window has closed, sorted by :data:`Key`.
    rewards
        Their reward events, sorted by :data:`Key` (events of other decisions are skipped).
    activations
        The keys of the activated ones among them, sorted.
    settings
        The experiment's window, aggregate and default reward.
    stats
        Filled in as the join proceeds.

    A decision's reward is ``settings.aggregate`` of its reward events with
    ``decision.ts <= reward.ts <= decision.ts + window``; events before the decision or after
    the window are ignored (and counted). A decision without such an event gets
    ``settings.default``. A deferred decision that was never activated was never shown and is
    no example.
    """
    stats = stats if stats is not None else JoinStats()
    window = timedelta(seconds=settings.window_seconds)
    reward_stream = _SortedStream(_readable(rewards, stats), key=_reward_key)
    activation_stream = _SortedStream(activations, key=lambda key: key)
    for decision in decisions:
        if isinstance(decision, Unreadable):
            stats.unreadable += 1
            continue
        stats.decisions += 1
        key = (decision.ts, decision.event_id)
        events = reward_stream.take(key)
        activated = bool(activation_stream.take(key))
        if decision.deferred and not activated:
            stats.not_activated += 1
            continue
        inside = []
        for event in events:
            if event.ts < decision.ts:
                stats.rewards_early += 1
            elif event.ts > decision.ts + window:
                stats.rewards_late += 1
            else:
                inside.append(event)
        if inside:
            stats.rewards_joined += len(inside)
            value = aggregate(inside, settings.aggregate)
        else:
            stats.defaulted += 1
            value = settings.default
        stats.examples += 1
        stats.first_ts = decision.ts if stats.first_ts is None else min(stats.first_ts, decision.ts)
        stats.last_ts = decision.ts if stats.last_ts is None else max(stats.last_ts, decision.ts)
        yield Example(
            decision.event_id,
            decision.ts,
            decision.context,
            decision.actions,
            decision.action,
            decision.probability,
            value,
            decision.pmf,
            decision.group,
        )


def _reward_key(reward: Reward) -> Key:
    if reward.decision_ts is None:  # the store reads only matched rewards
        raise ValueError(f"reward {reward.event_id!r} was never matched to its decision")
    return reward.decision_ts, reward.event_id


def _readable(rewards: Iterable[Reward | Unreadable], stats: JoinStats) -> Iterator[Reward]:
    for reward in rewards:
        if isinstance(reward, Unreadable):
            stats.rewards_unreadable += 1
        else:
            yield reward


def closed_examples(
    store: Store,
    experiment: Experiment,
    now: datetime,
    stats: JoinStats | None = None,
    start: datetime | None = None,
) -> Iterator[Example]:
    """The experiment's examples made from ``start`` (from the first if None) whose
    attribution window closed before ``now``, sorted by :data:`Key`."""
    end = closed_before(experiment, now)
    return join_rewards(
        store.events.decisions_between(experiment.id, start, end),
        store.events.rewards_between(experiment.id, start, end),
        store.events.activations_between(experiment.id, start, end),
        experiment.reward,
        stats,
    )


def closed_before(experiment: Experiment, now: datetime) -> datetime:
    """The decision time before which every attribution window has closed at ``now``."""
    return now - timedelta(seconds=experiment.reward.window_seconds)
