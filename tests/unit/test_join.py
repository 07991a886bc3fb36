"""The reward join, run through the store on every backend."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from policy.experiment import AGGREGATES, Aggregate, RewardSettings
from store.repositories import Store
from tests import factories
from tests.factories import T0
from trainer.join import COMBINE, Example, JoinStats, aggregate, join_rewards

WINDOW = RewardSettings(window_seconds=60, default=-1.0, aggregate="sum")
S = timedelta(seconds=1)
MS = timedelta(milliseconds=1)


def join(store: Store, now: datetime, settings: RewardSettings = WINDOW) -> tuple[list[Example], JoinStats]:
    stats = JoinStats()
    end = now - timedelta(seconds=settings.window_seconds)
    examples = list(
        join_rewards(
            store.events.decisions_between("exp", None, end),
            store.events.rewards_between("exp", None, end),
            store.events.activations_between("exp", None, end),
            settings,
            stats,
        )
    )
    return examples, stats


@pytest.mark.parametrize(
    ("how", "expected"),
    [("sum", 6.0), ("mean", 2.0), ("max", 5.0), ("min", 0.0), ("first", 1.0), ("last", 5.0)],
)
def test_aggregates_order_events_by_time(how: Aggregate, expected: float) -> None:
    # given out of order: values by time are 1, 0, 5
    events = [
        factories.reward("e", "c", 5.0, T0 + 2 * S),
        factories.reward("e", "a", 1.0, T0),
        factories.reward("e", "b", 0.0, T0 + S),
    ]
    assert aggregate(events, how) == expected


def test_every_declared_aggregate_has_one_combination() -> None:
    assert tuple(COMBINE) == AGGREGATES


def test_aggregate_breaks_time_ties_by_reward_id() -> None:
    events = [factories.reward("e", "b", 2.0, T0), factories.reward("e", "a", 1.0, T0)]
    assert aggregate(events, "first") == 1.0 and aggregate(events, "last") == 2.0


def test_window_edges(store: Store) -> None:
    store.events.insert_decisions([factories.decision(event_id="d", ts=T0)])
    store.events.insert_rewards(
        [
            factories.reward("d", "at-decision", 1.0, T0),
            factories.reward("d", "at-edge", 10.0, T0 + 60 * S),
            factories.reward("d", "before", 100.0, T0 - MS),
            factories.reward("d", "after", 1000.0, T0 + 60 * S + MS),
        ]
    )
    [example], stats = join(store, now=T0 + 61 * S)
    assert example.reward == 11.0
    assert (stats.rewards_joined, stats.rewards_early, stats.rewards_late) == (2, 1, 1)


def test_open_windows_are_not_training_data_yet(store: Store) -> None:
    store.events.insert_decisions([factories.decision(event_id="d", ts=T0)])
    store.events.insert_rewards([factories.reward("d", "x", 3.0, T0 + S)])
    assert join(store, now=T0 + 60 * S) == ([], JoinStats())
    [example], _ = join(store, now=T0 + 60 * S + MS)
    assert example.reward == 3.0


def test_missing_reward_gets_the_default_once_the_window_closes(store: Store) -> None:
    store.events.insert_decisions([factories.decision(event_id="d", ts=T0)])
    assert join(store, now=T0 + 30 * S)[0] == []
    [example], stats = join(store, now=T0 + 2 * 60 * S)
    assert example.reward == -1.0 and stats.defaulted == 1


def test_rewards_arriving_before_their_decision_is_logged_are_joined(store: Store) -> None:
    store.events.insert_rewards([factories.reward("d", "x", 2.0, T0 + S)])
    store.events.insert_decisions([factories.decision(event_id="d", ts=T0)])
    [example], _ = join(store, now=T0 + 2 * 60 * S)
    assert example.reward == 2.0


def test_duplicate_posts_count_once(store: Store) -> None:
    store.events.insert_decisions([factories.decision(event_id="d", ts=T0)])
    for _ in range(3):
        store.events.insert_rewards([factories.reward("d", "click", 1.0, T0 + S)])
    [example], _ = join(store, now=T0 + 2 * 60 * S)
    assert example.reward == 1.0


def test_each_decision_gets_only_its_own_rewards(store: Store) -> None:
    store.events.insert_decisions([factories.decision(event_id=e, ts=T0) for e in ("a", "b", "c")])
    store.events.insert_decisions([factories.decision(event_id="b2", experiment="other", ts=T0)])
    store.events.insert_rewards(
        [
            factories.reward("a", "x", 1.0, T0 + S),
            factories.reward("b2", "x", 50.0, T0 + S),
            factories.reward("c", "x", 3.0, T0 + S),
            factories.reward("c", "y", 4.0, T0 + 2 * S),
            factories.reward("zzz", "x", 9.0, T0 + S),
        ]
    )
    examples, stats = join(store, now=T0 + 2 * 60 * S)
    assert {e.event_id: e.reward for e in examples} == {"a": 1.0, "b": -1.0, "c": 7.0}
    assert (stats.decisions, stats.examples, stats.defaulted, stats.rewards_joined) == (3, 3, 1, 3)


def test_deferred_decisions_count_only_once_activated(store: Store) -> None:
    store.events.insert_decisions(
        [
            factories.decision(event_id="seen", ts=T0, deferred=True),
            factories.decision(event_id="unseen", ts=T0, deferred=True),
        ]
    )
    store.events.activate("seen", T0 + S)
    examples, stats = join(store, now=T0 + 2 * 60 * S)
    assert [e.event_id for e in examples] == ["seen"] and stats.not_activated == 1


def test_examples_carry_what_training_needs(store: Store) -> None:
    decision = factories.decision(
        event_id="d",
        ts=T0,
        actions=("a", "b", "c"),
        action="c",
        probability=0.25,
        pmf=(0.25, 0.5, 0.25),
        context={"geo": "DE"},
    )
    store.events.insert_decisions([decision])
    [example], stats = join(store, now=T0 + 2 * 60 * S)
    assert example == Example("d", T0, {"geo": "DE"}, ("a", "b", "c"), "c", 0.25, -1.0, (0.25, 0.5, 0.25), "bandit")
    assert example.chosen == 2
    assert (stats.first_ts, stats.last_ts) == (T0, T0)


@pytest.mark.parametrize("how", ["sum", "mean", "max", "min", "first", "last"])
def test_every_aggregate_through_the_store(store: Store, how: str) -> None:
    store.events.insert_decisions([factories.decision(event_id="d", ts=T0)])
    store.events.insert_rewards([factories.reward("d", "b", 4.0, T0 + 2 * S), factories.reward("d", "a", 2.0, T0 + S)])
    settings = RewardSettings(window_seconds=60, default=0.0, aggregate=how)
    [example], _ = join(store, T0 + 2 * 60 * S, settings)
    assert example.reward == {"sum": 6.0, "mean": 3.0, "max": 4.0, "min": 2.0, "first": 2.0, "last": 4.0}[how]
