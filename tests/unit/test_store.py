"""The store, run on every backend (embedded always; real MongoDB with MVT_TEST_MONGO_URI)."""

from __future__ import annotations

import sys
import threading
from datetime import timedelta

import pytest
from pymongo.errors import AutoReconnect

from mvt_service.store import ExperimentState, StaleRevision, Store, _decision_doc
from policy.arms import Arm
from policy.experiment import Experiment
from tests import factories


def test_ensure_indexes_is_idempotent(store: Store) -> None:
    store.ensure_indexes()
    assert "experiment_1_decision_ts_1__id_1" in set(store.rewards.index_information())
    assert "experiment_1_decision_ts_1__id_1" in set(store.activations.index_information())
    assert "experiment_1_ts_1__id_1" in set(store.decisions.index_information())
    assert "expires_at_1" in set(store.pending.index_information())


def test_retention_is_a_ttl_index_that_follows_the_setting(store: Store) -> None:
    def ttl(collection) -> int | None:
        return collection.index_information().get("retention_ts", {}).get("expireAfterSeconds")

    store.ensure_indexes(retention_days=90)
    assert [ttl(c) for c in (store.decisions, store.rewards, store.activations)] == [90 * 86_400] * 3
    store.ensure_indexes(retention_days=30)  # changed: the index is replaced
    assert ttl(store.decisions) == 30 * 86_400
    store.ensure_indexes()  # unset: data is kept again
    assert ttl(store.decisions) is None and ttl(store.rewards) is None


def test_put_experiment_creates_then_replaces_with_a_new_revision(store: Store) -> None:
    stored, created = store.put_experiment(factories.experiment(epsilon=0.1))
    assert created and stored.revision == 1
    again, created = store.put_experiment(factories.experiment(epsilon=0.3))
    assert not created and again.revision == 2 and again.epsilon == 0.3
    assert store.get_experiment("exp") == again
    assert store.experiment_states() == {"exp": ExperimentState(2, None, None)}


def test_experiment_round_trip_keeps_awkward_feature_names(store: Store) -> None:
    arms = [Arm("a", {"page.section": "top", "$price": 9.5, "flag": True})]
    experiment = Experiment.create("exp", arms=arms)
    stored, _ = store.put_experiment(experiment)
    assert store.get_experiment("exp") == stored
    assert dict(stored.arms[0].features) == {"page.section": "top", "$price": 9.5, "flag": True}


def test_factor_experiment_round_trip(store: Store) -> None:
    experiment = Experiment.create(
        "mv", factors={"hero": ["big", "small"], "cta": ["a", "b"]}, exclude=[{"hero": "small", "cta": "b"}]
    )
    stored, _ = store.put_experiment(experiment)
    loaded = store.get_experiment("mv")
    assert loaded == stored
    assert loaded.arm_ids == experiment.arm_ids and dict(loaded.exclude[0]) == {"hero": "small", "cta": "b"}


def test_insert_experiment_if_absent_does_not_overwrite(store: Store) -> None:
    assert store.insert_experiment_if_absent(factories.experiment(epsilon=0.1))
    assert not store.insert_experiment_if_absent(factories.experiment(epsilon=0.9))
    assert store.get_experiment("exp").epsilon == 0.1


def test_list_experiments_is_sorted_by_id(store: Store) -> None:
    for name in ("b", "a", "c"):
        store.put_experiment(factories.experiment(id=name))
    assert [e.id for e in store.list_experiments()] == ["a", "b", "c"]


def test_decisions_round_trip_and_retries_do_not_duplicate(store: Store) -> None:
    decisions = [factories.decision(context={"utm.source": "x", "$weird": 1}) for _ in range(3)]
    assert store.insert_decisions(decisions) == 3
    assert store.insert_decisions([*decisions[1:], factories.decision(event_id="new")]) == 1
    assert store.decisions.count_documents({}) == 4
    assert store.get_decision(decisions[0].event_id) == decisions[0]


def test_insert_decision_once_returns_the_first_decision(store: Store) -> None:
    first = factories.decision(event_id="retry-1", action="a")
    assert store.insert_decision_once(first) == first
    assert store.insert_decision_once(factories.decision(event_id="retry-1", action="b")) == first


def test_rewards_are_idempotent_on_event_and_reward_id(store: Store) -> None:
    batch = [factories.reward("e1", "click"), factories.reward("e1", "order", 25.0), factories.reward("e2")]
    assert store.insert_rewards(batch) == (3, 0)
    again = [factories.reward("e1", "click", 99.0), factories.reward("e3")]
    assert store.insert_rewards(again) == (1, 1)
    assert [r.reward for r in factories.rewards_of(store, "e1")] == [1.0, 25.0]


def test_activation_is_recorded_once(store: Store) -> None:
    assert store.activate("e1", factories.T0)
    assert not store.activate("e1", factories.T0 + timedelta(seconds=5))


def test_policy_registry(store: Store) -> None:
    store.put_experiment(factories.experiment())
    assert store.next_policy_version("exp") == 1
    store.insert_policy(factories.policy_record(version=1), b"model-1")
    store.insert_policy(factories.policy_record(version=2), b"model-2")
    assert store.next_policy_version("exp") == 3
    assert [p.version for p in store.list_policies("exp")] == [2, 1]
    assert store.get_policy("exp", 1) == factories.policy_record(version=1)
    assert store.policy_model("exp", 2) == b"model-2"
    assert store.policy_model("exp", 3) is None


def test_activation_switches_the_experiment_and_retires_the_previous_policy(store: Store) -> None:
    store.put_experiment(factories.experiment())
    for version in (1, 2):
        store.insert_policy(factories.policy_record(version=version), b"m")
    assert store.activate_policy("exp", 1, "first").status == "active"
    assert store.experiment_states() == {"exp": ExperimentState(1, 1, None)}
    second = store.activate_policy("exp", 2, "better")
    assert (second.status, second.reason) == ("active", "better")
    retired = store.get_policy("exp", 1)
    assert (retired.status, retired.reason) == ("retired", "replaced by v2")
    assert store.get_experiment("exp").active_policy == 2
    assert store.activate_policy("exp", 9, "missing") is None
    assert store.get_experiment("exp").revision == 1  # activation is not an edit of the definition


def test_a_candidate_is_offered_only_while_the_serving_policy_it_was_trained_against_serves(store: Store) -> None:
    store.put_experiment(factories.experiment(candidate_share=0.5))
    for version in (1, 2, 3):
        store.insert_policy(factories.policy_record(version=version), b"m")
    assert store.offer_candidate("exp", 1, None)  # before any policy serves
    assert store.experiment_states() == {"exp": ExperimentState(1, None, 1)}
    store.activate_policy("exp", 1, "first")  # a promotion ends the candidate's share
    assert store.get_experiment("exp").candidate_policy is None
    assert not store.offer_candidate("exp", 2, None)  # trained against uniform random: too late
    assert store.offer_candidate("exp", 2, 1)
    assert store.get_experiment("exp").candidate_policy == 2
    store.activate_policy("exp", 3, "an operator's choice")
    assert not store.offer_candidate("exp", 2, 1)  # the serving policy it was judged against is gone
    assert store.experiment_states()["exp"].candidate_policy is None
    assert store.offer_candidate("exp", 4, 3) and store.offer_candidate("exp", None, 3)
    assert store.get_experiment("exp").candidate_policy is None
    store.offer_candidate("exp", 4, 3)
    store.deactivate_policy("exp", "worse than uniform random")  # a retirement ends it too
    assert store.get_experiment("exp").candidate_policy is None
    replaced, _ = store.put_experiment(factories.experiment(candidate_share=0.25))
    assert (replaced.candidate_share, replaced.revision) == (0.25, 2)


def test_experiment_replacement_keeps_the_active_policy(store: Store) -> None:
    store.put_experiment(factories.experiment())
    store.insert_policy(factories.policy_record(version=1), b"m")
    store.activate_policy("exp", 1, "first")
    replaced, _ = store.put_experiment(factories.experiment(epsilon=0.5))
    assert replaced.active_policy == 1


def test_join_streams_hold_one_experiments_events_sorted_by_decision_time(store: Store) -> None:
    t0, second = factories.T0, timedelta(seconds=1)
    when = {"c": t0, "a": t0, "b": t0 + second, "d": t0 + 2 * second}
    store.insert_decisions([factories.decision(event_id=i, ts=ts) for i, ts in when.items()])
    store.insert_decisions([factories.decision(event_id="late", ts=t0 + timedelta(hours=1))])
    store.insert_decisions([factories.decision(event_id="other", experiment="x")])
    store.insert_rewards([factories.reward(i, r) for i in [*when, "other", "late"] for r in ("z", "y")])
    for i in [*when, "other"]:
        store.activate(i, t0)
    start, end = t0, t0 + timedelta(minutes=1)
    assert [d.event_id for d in store.decisions_between("exp", start, end)] == ["a", "c", "b", "d"]
    assert [d.event_id for d in store.decisions_between("exp", t0 + second, end)] == ["b", "d"]
    assert [(r.event_id, r.reward_id) for r in store.rewards_between("exp", None, end)] == [
        (i, r) for i in ("a", "c", "b", "d") for r in ("y", "z")
    ]
    assert {r.decision_ts for r in store.rewards_between("exp", None, end)} == set(when.values())
    assert [e for _, e in store.activations_between("exp", None, end)] == ["a", "c", "b", "d"]


def test_a_free_lease_is_taken_by_one_owner_at_a_time(store: Store) -> None:
    now = factories.T0
    first = store.acquire_lease("train:exp", "one", now, 60)
    assert first is not None and first.last_finished is None
    assert store.acquire_lease("train:exp", "two", now + timedelta(seconds=59), 60) is None
    renewed = store.acquire_lease("train:exp", "one", now + timedelta(seconds=30), 60)
    assert renewed.expires_at == now + timedelta(seconds=90)
    store.release_lease("train:exp", "one", now + timedelta(seconds=31))
    taken = store.acquire_lease("train:exp", "two", now + timedelta(seconds=32), 60)
    assert taken.last_finished == now + timedelta(seconds=31)


def test_an_expired_lease_can_be_taken_over(store: Store) -> None:
    now = factories.T0
    store.acquire_lease("train:exp", "crashed", now, 60)
    assert store.acquire_lease("train:exp", "other", now + timedelta(seconds=60), 60) is not None
    store.release_lease("train:exp", "crashed", now)  # a late release of a lost lease changes nothing
    assert store.acquire_lease("train:exp", "third", now + timedelta(seconds=61), 60) is None


def test_datetimes_come_back_timezone_aware(store: Store) -> None:
    store.insert_decisions([factories.decision(event_id="t")])
    assert store.get_decision("t").ts == factories.T0


class FailingCollection:
    """A collection whose writes fail as a lost connection does."""

    def insert_many(self, *args: object, **kwargs: object) -> None:
        raise AutoReconnect("connection lost")


def test_other_write_errors_propagate(store: Store) -> None:
    store.decisions = FailingCollection()  # type: ignore[assignment]
    with pytest.raises(AutoReconnect):
        store.insert_decisions([factories.decision()])


def test_a_conditional_update_succeeds_for_one_of_many_concurrent_callers(store: Store) -> None:
    """MongoDB's single-document writes are atomic; the embedded store's must be too (it locks
    every mongomock write), or two operators holding one revision would both win."""
    store.put_experiment(factories.experiment())
    barrier = threading.Barrier(8)
    won: list[bool] = []

    def edit(epsilon: float) -> None:
        barrier.wait()
        try:
            store.update_experiment("exp", {"exploration": {"epsilon": epsilon}}, expected_revision=1)
            won.append(True)
        except StaleRevision:
            won.append(False)

    threads = [threading.Thread(target=edit, args=(i / 10,)) for i in range(8)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: any race shows
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert sorted(won) == [False] * 7 + [True] and store.get_experiment("exp").revision == 2


def test_events_ahead_of_their_decision_wait_and_are_adopted_when_it_is_written(store: Store) -> None:
    t0 = factories.T0
    assert store.insert_rewards(
        [factories.reward("early", "click", 1.0, t0), factories.reward("early", "order", 9.0, t0)]
    ) == (2, 0)
    assert store.insert_rewards([factories.reward("early", "click", 1.0, t0)]) == (0, 1)  # a repeat, waiting too
    assert store.activate("early", t0) and not store.activate("early", t0)
    end = t0 + timedelta(hours=1)
    assert list(store.rewards_between("exp", None, end)) == [] and store.reward_ids() == {"early click", "early order"}
    store.insert_decisions([factories.decision(event_id="early", ts=t0, deferred=True)])
    assert [(r.reward_id, r.decision_ts) for r in store.rewards_between("exp", None, end)] == [
        ("click", t0),
        ("order", t0),
    ]
    assert [e for _, e in store.activations_between("exp", None, end)] == ["early"]
    assert store.pending.count_documents({}) == 0 and not store.activate("early", t0)


def test_orphans_expire_and_a_late_adoption_is_swept_up(store: Store) -> None:
    t0 = factories.T0
    store.pending_seconds = 600
    store.insert_rewards([factories.reward("never", "default", 1.0, t0), factories.reward("raced", "default", 2.0, t0)])
    store.activate("never", t0)
    # "raced": its decision was written by another worker just after the reward missed it
    store.decisions.insert_one(_decision_doc(factories.decision(event_id="raced", ts=t0)))
    swept = store.sweep_pending(t0 + timedelta(seconds=599))
    assert swept == {"adopted": 1, "expired_reward": 0, "expired_activation": 0, "waiting": 2}
    assert [r.event_id for r in store.rewards_between("exp", None, t0 + timedelta(hours=1))] == ["raced"]
    swept = store.sweep_pending(t0 + timedelta(seconds=600))
    assert swept == {"adopted": 0, "expired_reward": 1, "expired_activation": 1, "waiting": 0}
    assert store.reward_ids() == {"raced default"}


def test_a_cycle_reads_only_its_own_experiments_events(store: Store) -> None:
    """Rewards of other experiments and orphans are never among what a join reads."""
    t0 = factories.T0
    store.insert_decisions([factories.decision(event_id=f"mine-{i}", ts=t0) for i in range(3)])
    store.insert_decisions([factories.decision(event_id=f"theirs-{i}", experiment="x", ts=t0) for i in range(50)])
    store.insert_rewards([factories.reward(f"theirs-{i}") for i in range(50)])
    store.insert_rewards([factories.reward(f"orphan-{i}") for i in range(50)])
    store.insert_rewards([factories.reward(f"mine-{i}") for i in range(3)])
    read = list(store.rewards_between("exp", None, t0 + timedelta(hours=1)))
    assert sorted(r.event_id for r in read) == ["mine-0", "mine-1", "mine-2"]
