"""The store layer's contract: what every backend must do, through the repositories only (the
``store`` and ``backend`` fixtures run each test on every backend: the embedded one always, a
real MongoDB with MVT_TEST_MONGO_URI)."""

from __future__ import annotations

import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest

from policy.arms import Arm
from policy.experiment import Experiment
from store.errors import StaleRevision
from store.records import AuditEntry, ExperimentPatch, ExperimentState, Lease, Report, Sweep, Visit
from store.repositories import Backend, Store
from tests import factories
from tests.helpers import decisions_of


def test_ensure_schema_is_idempotent_and_the_backend_answers_a_ping(store: Store) -> None:
    store.backend.ensure_schema()
    store.backend.ensure_schema(retention_days=30)
    store.backend.ping()
    store.experiments.put(factories.experiment())
    assert store.experiments.get("exp") is not None


def test_put_experiment_creates_then_replaces_with_a_new_revision(store: Store) -> None:
    stored, created = store.experiments.put(factories.experiment(epsilon=0.1))
    assert created and stored.revision == 1
    again, created = store.experiments.put(factories.experiment(epsilon=0.3))
    assert not created and again.revision == 2 and again.epsilon == 0.3
    assert store.experiments.get("exp") == again
    assert store.experiments.states() == {"exp": ExperimentState(2, None, None)}


def test_experiment_round_trip_keeps_awkward_feature_names(store: Store) -> None:
    arms = [Arm("a", {"page.section": "top", "$price": 9.5, "flag": True})]
    experiment = Experiment.create("exp", arms=arms)
    stored, _ = store.experiments.put(experiment)
    assert store.experiments.get("exp") == stored
    assert dict(stored.arms[0].features) == {"page.section": "top", "$price": 9.5, "flag": True}


def test_factor_experiment_round_trip(store: Store) -> None:
    experiment = Experiment.create(
        "mv", factors={"hero": ["big", "small"], "cta": ["a", "b"]}, exclude=[{"hero": "small", "cta": "b"}]
    )
    stored, _ = store.experiments.put(experiment)
    loaded = store.experiments.get("mv")
    assert loaded == stored
    assert loaded.arm_ids == experiment.arm_ids and dict(loaded.exclude[0]) == {"hero": "small", "cta": "b"}


def test_insert_experiment_if_absent_does_not_overwrite(store: Store) -> None:
    assert store.experiments.insert_if_absent(factories.experiment(epsilon=0.1))
    assert not store.experiments.insert_if_absent(factories.experiment(epsilon=0.9))
    assert store.experiments.get("exp").epsilon == 0.1


def test_list_experiments_is_sorted_by_id(store: Store) -> None:
    for name in ("b", "a", "c"):
        store.experiments.put(factories.experiment(id=name))
    assert [e.id for e in store.experiments.list()] == ["a", "b", "c"]


def test_decisions_round_trip_and_retries_do_not_duplicate(store: Store) -> None:
    decisions = [factories.decision(context={"utm.source": "x", "$weird": 1}) for _ in range(3)]
    assert store.events.insert_decisions(decisions) == 3
    assert store.events.insert_decisions([*decisions[1:], factories.decision(event_id="new")]) == 1
    assert len(decisions_of(store)) == 4
    assert store.events.get_decision(decisions[0].event_id) == decisions[0]


def test_insert_decision_once_returns_the_first_decision(store: Store) -> None:
    first = factories.decision(event_id="retry-1", action="a")
    assert store.events.insert_decision_once(first) == first
    assert store.events.insert_decision_once(factories.decision(event_id="retry-1", action="b")) == first


def test_rewards_are_idempotent_on_event_and_reward_id(store: Store) -> None:
    batch = [factories.reward("e1", "click"), factories.reward("e1", "order", 25.0), factories.reward("e2")]
    assert store.events.insert_rewards(batch) == (3, 0)
    again = [factories.reward("e1", "click", 99.0), factories.reward("e3")]
    assert store.events.insert_rewards(again) == (1, 1)
    assert [r.reward for r in store.events.rewards_of("e1")] == [1.0, 25.0]


def test_activation_is_recorded_once(store: Store) -> None:
    assert store.events.activate("e1", factories.T0)
    assert not store.events.activate("e1", factories.T0 + timedelta(seconds=5))


def test_policy_registry(store: Store) -> None:
    store.experiments.put(factories.experiment())
    assert store.policies.next_version("exp") == 1
    store.policies.insert(factories.policy_record(version=1), b"model-1")
    store.policies.insert(factories.policy_record(version=2), b"model-2")
    assert store.policies.next_version("exp") == 3
    assert [p.version for p in store.policies.list("exp")] == [2, 1]
    assert store.policies.get("exp", 1) == factories.policy_record(version=1)
    assert store.policies.model("exp", 2) == b"model-2"
    assert store.policies.model("exp", 3) is None


def test_activation_switches_the_experiment_and_retires_the_previous_policy(store: Store) -> None:
    store.experiments.put(factories.experiment())
    for version in (1, 2):
        store.policies.insert(factories.policy_record(version=version), b"m")
    assert store.policies.activate("exp", 1, "first").status == "active"
    assert store.experiments.states() == {"exp": ExperimentState(1, 1, None)}
    second = store.policies.activate("exp", 2, "better")
    assert (second.status, second.reason) == ("active", "better")
    retired = store.policies.get("exp", 1)
    assert (retired.status, retired.reason) == ("retired", "replaced by v2")
    assert store.experiments.get("exp").active_policy == 2
    assert store.policies.activate("exp", 9, "missing") is None
    assert store.experiments.get("exp").revision == 1  # activation is not an edit of the definition


def test_a_candidate_is_offered_only_while_the_serving_policy_it_was_trained_against_serves(store: Store) -> None:
    store.experiments.put(factories.experiment(candidate_share=0.5))
    for version in (1, 2, 3):
        store.policies.insert(factories.policy_record(version=version), b"m")
    assert store.policies.offer_candidate("exp", 1, None)  # before any policy serves
    assert store.experiments.states() == {"exp": ExperimentState(1, None, 1)}
    store.policies.activate("exp", 1, "first")  # a promotion ends the candidate's share
    assert store.experiments.get("exp").candidate_policy is None
    assert not store.policies.offer_candidate("exp", 2, None)  # trained against uniform random: too late
    assert store.policies.offer_candidate("exp", 2, 1)
    assert store.experiments.get("exp").candidate_policy == 2
    store.policies.activate("exp", 3, "an operator's choice")
    assert not store.policies.offer_candidate("exp", 2, 1)  # the serving policy it was judged against is gone
    assert store.experiments.states()["exp"].candidate_policy is None
    assert store.policies.offer_candidate("exp", 4, 3) and store.policies.offer_candidate("exp", None, 3)
    assert store.experiments.get("exp").candidate_policy is None
    store.policies.offer_candidate("exp", 4, 3)
    store.policies.deactivate("exp", "worse than uniform random")  # a retirement ends it too
    assert store.experiments.get("exp").candidate_policy is None
    replaced, _ = store.experiments.put(factories.experiment(candidate_share=0.25))
    assert (replaced.candidate_share, replaced.revision) == (0.25, 2)


def test_experiment_replacement_keeps_the_active_policy(store: Store) -> None:
    store.experiments.put(factories.experiment())
    store.policies.insert(factories.policy_record(version=1), b"m")
    store.policies.activate("exp", 1, "first")
    replaced, _ = store.experiments.put(factories.experiment(epsilon=0.5))
    assert replaced.active_policy == 1


def test_join_streams_hold_one_experiments_events_sorted_by_decision_time(store: Store) -> None:
    t0, second = factories.T0, timedelta(seconds=1)
    when = {"c": t0, "a": t0, "b": t0 + second, "d": t0 + 2 * second}
    store.events.insert_decisions([factories.decision(event_id=i, ts=ts) for i, ts in when.items()])
    store.events.insert_decisions([factories.decision(event_id="late", ts=t0 + timedelta(hours=1))])
    store.events.insert_decisions([factories.decision(event_id="other", experiment="x")])
    store.events.insert_rewards([factories.reward(i, r) for i in [*when, "other", "late"] for r in ("z", "y")])
    for i in [*when, "other"]:
        store.events.activate(i, t0)
    start, end = t0, t0 + timedelta(minutes=1)
    assert [d.event_id for d in store.events.decisions_between("exp", start, end)] == ["a", "c", "b", "d"]
    assert [d.event_id for d in store.events.decisions_between("exp", t0 + second, end)] == ["b", "d"]
    assert [(r.event_id, r.reward_id) for r in store.events.rewards_between("exp", None, end)] == [
        (i, r) for i in ("a", "c", "b", "d") for r in ("y", "z")
    ]
    assert {r.decision_ts for r in store.events.rewards_between("exp", None, end)} == set(when.values())
    assert [e for _, e in store.events.activations_between("exp", None, end)] == ["a", "c", "b", "d"]


def test_a_free_lease_is_taken_by_one_owner_at_a_time(store: Store) -> None:
    now = factories.T0
    first = store.leases.acquire("train:exp", "one", now, 60)
    assert first is not None and first.last_finished is None
    assert store.leases.acquire("train:exp", "two", now + timedelta(seconds=59), 60) is None
    renewed = store.leases.acquire("train:exp", "one", now + timedelta(seconds=30), 60)
    assert renewed.expires_at == now + timedelta(seconds=90)
    store.leases.release("train:exp", "one", now + timedelta(seconds=31))
    taken = store.leases.acquire("train:exp", "two", now + timedelta(seconds=32), 60)
    assert taken.last_finished == now + timedelta(seconds=31)


def test_an_expired_lease_can_be_taken_over(store: Store) -> None:
    now = factories.T0
    store.leases.acquire("train:exp", "crashed", now, 60)
    assert store.leases.acquire("train:exp", "other", now + timedelta(seconds=60), 60) is not None
    store.leases.release("train:exp", "crashed", now)  # a late release of a lost lease changes nothing
    assert store.leases.acquire("train:exp", "third", now + timedelta(seconds=61), 60) is None


def test_datetimes_come_back_timezone_aware(store: Store) -> None:
    store.events.insert_decisions([factories.decision(event_id="t")])
    assert store.events.get_decision("t").ts == factories.T0


def test_times_are_kept_to_the_millisecond_so_that_join_keys_match_on_every_backend(store: Store) -> None:
    ts = factories.T0 + timedelta(microseconds=123_456)
    store.events.insert_decisions([factories.decision(event_id="t", ts=ts)])
    store.events.insert_rewards([factories.reward("t", ts=ts + timedelta(microseconds=999))])
    store.events.activate("t", ts)
    kept = factories.T0 + timedelta(milliseconds=123)
    assert store.events.get_decision("t").ts == kept
    end = ts + timedelta(seconds=1)
    [reward] = store.events.rewards_between("exp", None, end)
    assert (reward.decision_ts, reward.ts) == (kept, factories.T0 + timedelta(milliseconds=124))
    assert list(store.events.activations_between("exp", kept, end)) == [(kept, "t")]


def test_a_conditional_update_succeeds_for_one_of_many_concurrent_callers(store: Store) -> None:
    """MongoDB's single-document writes are atomic; the embedded store's must be too (it locks
    every mongomock write), or two operators holding one revision would both win."""
    store.experiments.put(factories.experiment())
    barrier = threading.Barrier(8)
    won: list[bool] = []

    def edit(epsilon: float) -> None:
        barrier.wait()
        try:
            store.experiments.update("exp", ExperimentPatch(epsilon=epsilon), expected_revision=1)
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
    assert sorted(won) == [False] * 7 + [True] and store.experiments.get("exp").revision == 2


def test_events_ahead_of_their_decision_wait_and_are_adopted_when_it_is_written(store: Store) -> None:
    t0 = factories.T0
    assert store.events.insert_rewards(
        [factories.reward("early", "click", 1.0, t0), factories.reward("early", "order", 9.0, t0)]
    ) == (2, 0)
    assert store.events.insert_rewards([factories.reward("early", "click", 1.0, t0)]) == (0, 1)  # a repeat, waiting too
    assert store.events.activate("early", t0) and not store.events.activate("early", t0)
    end = t0 + timedelta(hours=1)
    assert list(store.events.rewards_between("exp", None, end)) == []
    assert store.events.reward_ids() == {("early", "click"), ("early", "order")}
    store.events.insert_decisions([factories.decision(event_id="early", ts=t0, deferred=True)])
    assert [(r.reward_id, r.decision_ts) for r in store.events.rewards_between("exp", None, end)] == [
        ("click", t0),
        ("order", t0),
    ]
    assert [e for _, e in store.events.activations_between("exp", None, end)] == ["early"]
    assert store.events.sweep(t0).waiting == 0 and not store.events.activate("early", t0)


def test_orphans_expire_after_pending_seconds(backend: Backend) -> None:
    t0 = factories.T0
    store = backend.store(pending_seconds=600)
    store.events.insert_rewards([factories.reward("never", "default", 1.0, t0)])
    store.events.activate("never", t0)
    assert store.events.sweep(t0 + timedelta(seconds=599)) == Sweep(0, {"reward": 0, "activation": 0}, 2)
    assert store.events.sweep(t0 + timedelta(seconds=600)) == Sweep(0, {"reward": 1, "activation": 1}, 0)
    assert store.events.reward_ids() == set() and store.events.rewards_of("never") == []


def test_a_cycle_reads_only_its_own_experiments_events(store: Store) -> None:
    """Rewards of other experiments and orphans are never among what a join reads."""
    t0 = factories.T0
    store.events.insert_decisions([factories.decision(event_id=f"mine-{i}", ts=t0) for i in range(3)])
    store.events.insert_decisions(
        [factories.decision(event_id=f"theirs-{i}", experiment="x", ts=t0) for i in range(50)]
    )
    store.events.insert_rewards([factories.reward(f"theirs-{i}") for i in range(50)])
    store.events.insert_rewards([factories.reward(f"orphan-{i}") for i in range(50)])
    store.events.insert_rewards([factories.reward(f"mine-{i}") for i in range(3)])
    read = list(store.events.rewards_between("exp", None, t0 + timedelta(hours=1)))
    assert sorted(r.event_id for r in read) == ["mine-0", "mine-1", "mine-2"]


def test_an_experiment_patch_sets_only_what_it_names_and_bumps_the_revision(store: Store) -> None:
    store.experiments.put(factories.experiment(epsilon=0.2, candidate_share=0.5))
    patched = store.experiments.update("exp", ExperimentPatch(epsilon=0.05, paused=True))
    assert patched is not None
    assert (patched.epsilon, patched.candidate_share, patched.paused, patched.revision) == (0.05, 0.5, True, 2)
    patched = store.experiments.update("exp", ExperimentPatch(holdout=0.1, candidate_share=0.0, paused=False))
    assert patched is not None and (patched.holdout, patched.candidate_share, patched.paused) == (0.1, 0.0, False)
    assert store.experiments.get("exp") == patched
    assert store.experiments.update("nope", ExperimentPatch(paused=True)) is None
    assert store.experiments.update("nope", ExperimentPatch(paused=True), expected_revision=1) is None
    with pytest.raises(StaleRevision):
        store.experiments.update("exp", ExperimentPatch(paused=True), expected_revision=2)


def test_a_put_against_a_stale_revision_or_a_creation_of_an_existing_one_fails(store: Store) -> None:
    store.experiments.put(factories.experiment(), expected_revision=0)
    with pytest.raises(StaleRevision):
        store.experiments.put(factories.experiment(), expected_revision=0)
    with pytest.raises(StaleRevision):
        store.experiments.put(factories.experiment(), expected_revision=7)
    assert store.experiments.put(factories.experiment(epsilon=0.4), expected_revision=1)[0].revision == 2


def test_a_visit_is_kept_once_and_replaced_only_as_read(store: Store) -> None:
    t0 = datetime(2100, 1, 1, tzinfo=UTC)  # a backend may remove visits that ended by its own clock
    first = factories.decision(event_id="first", ts=t0)
    assert store.events.visit("exp", "v/1?x") is None
    assert store.events.keep_visit("v/1?x", first, t0 + timedelta(minutes=30), None) == first
    assert store.events.visit("exp", "v/1?x") == Visit(first, t0 + timedelta(minutes=30))
    # another worker's decision of the same moment loses to the one kept
    rival = factories.decision(event_id="rival", ts=t0)
    assert store.events.keep_visit("v/1?x", rival, t0 + timedelta(minutes=30), None) == first
    # once it expired, a new decision replaces it (compare and swap on the one read)
    later = factories.decision(event_id="later", ts=t0 + timedelta(hours=1))
    expired = store.events.visit("exp", "v/1?x")
    assert store.events.keep_visit("v/1?x", later, t0 + timedelta(hours=2), expired) == later
    stale = factories.decision(event_id="stale", ts=t0 + timedelta(hours=1))
    assert store.events.keep_visit("v/1?x", stale, t0 + timedelta(hours=2), expired) == later
    assert store.events.visit("exp", "v/1?x") == Visit(later, t0 + timedelta(hours=2))
    assert store.events.visit("other", "v/1?x") is None


def test_the_latest_policy_whatever_its_status_and_rejection_and_retirement(store: Store) -> None:
    store.experiments.put(factories.experiment())
    assert store.policies.latest("exp") is None
    for version in (1, 2):
        store.policies.insert(factories.policy_record(version=version), b"m")
    store.policies.activate("exp", 1, "first")
    store.policies.reject("exp", 2, "not better than what serves")
    latest = store.policies.latest("exp")
    assert latest is not None and (latest.version, latest.status, latest.reason) == (
        2,
        "rejected",
        "not better than what serves",
    )
    store.policies.deactivate("exp", "worse than uniform random")
    retired = store.policies.get("exp", 1)
    assert retired is not None and (retired.status, retired.reason) == ("retired", "worse than uniform random")
    assert store.experiments.states() == {"exp": ExperimentState(1, None, None)}


def test_reports_come_back_newest_first_with_their_document(store: Store) -> None:
    t0 = factories.T0
    for version in (1, 2, 3):
        document = {"split": {"events": version * 10, "from": None, "to": t0}, "verdict": {"promoted": False}}
        store.reports.insert(Report("exp", version, t0 + timedelta(minutes=version), document))
    store.reports.insert(Report("other", 1, t0, {"split": {}}))
    reports = store.reports.list("exp", limit=2)
    assert [(r.experiment, r.version, r.created) for r in reports] == [
        ("exp", 3, t0 + timedelta(minutes=3)),
        ("exp", 2, t0 + timedelta(minutes=2)),
    ]
    assert reports[0].document["split"] == {"events": 30, "from": None, "to": t0}
    assert reports[0].document["verdict"] == {"promoted": False}
    assert store.reports.list("none") == []


def test_audit_entries_keep_any_json_and_come_back_newest_first(store: Store) -> None:
    t0 = factories.T0
    awkward = {"$set": {"a.b": [1, None, "ü"]}, "": True}
    store.audit.insert(AuditEntry(t0, "exp", "ops-1", "pause", {"paused": False}, {"paused": True}))
    store.audit.insert(AuditEntry(t0 + timedelta(seconds=1), "exp", "ops-2", "replace", None, awkward))
    store.audit.insert(AuditEntry(t0 + timedelta(seconds=2), "other", "trainer", "training_failed", None, {}))
    entries = store.audit.list("exp")
    assert [(e.action, e.key_id) for e in entries] == [("replace", "ops-2"), ("pause", "ops-1")]
    assert entries[0] == AuditEntry(t0 + timedelta(seconds=1), "exp", "ops-2", "replace", None, awkward)
    assert [e.experiment for e in store.audit.list(limit=2)] == ["other", "exp"]


def test_a_lease_reads_as_stored_and_counts_failed_runs_until_one_finishes(store: Store) -> None:
    now = factories.T0
    assert store.leases.get("train:exp") is None
    store.leases.acquire("train:exp", "one", now, 60)
    store.leases.release("train:exp", "one", now + timedelta(seconds=1), "ValueError: boom")
    store.leases.acquire("train:exp", "two", now + timedelta(seconds=2), 60)
    store.leases.release("train:exp", "two", now + timedelta(seconds=3), "ValueError: again")
    failed = store.leases.get("train:exp")
    assert failed is not None
    assert (failed.owner, failed.failures, failed.last_failed, failed.last_error, failed.last_finished) == (
        "two",
        2,
        now + timedelta(seconds=3),
        "ValueError: again",
        None,
    )
    store.leases.acquire("train:exp", "three", now + timedelta(seconds=4), 60)
    store.leases.release("train:exp", "three", now + timedelta(seconds=5))
    done = store.leases.get("train:exp")
    assert done is not None and (done.failures, done.last_error, done.last_finished) == (
        0,
        None,
        now + timedelta(seconds=5),
    )
    assert isinstance(done, Lease) and done.expires_at < now
