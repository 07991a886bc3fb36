"""Training cycles and the schedule, on the store (every backend)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from policy.experiment import Experiment, PromotionSettings, RewardSettings, TrainingSettings
from policy.features import arm_line, context_line
from policy.learning import LearningSettings, SearchSettings
from policy.model import VWModel
from store import mongo
from store.records import training_lease
from store.repositories import Store
from tests import factories
from tests.factories import T0
from trainer.cycle import NOT_JUDGED, run_cycle
from trainer.schedule import Scheduler, TrainingBusy, TrainingFailed

NOW = T0 + timedelta(hours=4)


def experiment(min_events: int = 100, interval: int = 3600, holdout_min: int = 50, **vw: object):
    """The cycle's mechanics with the configured settings; tests/unit/test_search.py covers the search."""
    return factories.experiment(
        reward=RewardSettings(window_seconds=60),
        training=TrainingSettings(
            interval_seconds=interval,
            min_events=min_events,
            vw=LearningSettings(**vw),
            search=SearchSettings(enabled=False),
        ),
        promotion=PromotionSettings(min_events=holdout_min),
    )


def greedy_arm(store: Store, version: int, device: str) -> str:
    model = VWModel.from_bytes(store.policies.model("exp", version))
    try:
        lines = [arm_line(a, {"color": c}) for a, c in (("a", "red"), ("b", "blue"), ("c", "green"))]
        scores = model.score(context_line({"device": device}), lines)
        return "abc"[scores.index(max(scores))]
    finally:
        model.close()


LATER = NOW + timedelta(hours=1)  # after the first cycle's data ended


def test_a_first_learner_is_trained_on_the_lookback_window_and_must_beat_uniform(store: Store) -> None:
    exp = experiment()
    store.experiments.put(exp)
    factories.log_uniform_traffic(store, 3000)
    summary = run_cycle(store, exp, NOW)
    assert (summary.status, summary.version, summary.mode, summary.events) == ("active", 1, "new", 3000)
    assert (
        summary.reason.startswith("superiority: learner − serving = +")
        and "exceeds min_improvement 0" in summary.reason
    )
    record = store.policies.get("exp", 1)
    end = NOW - timedelta(seconds=60)  # the attribution window
    assert (record.data_from, record.data_to) == (end - timedelta(seconds=exp.training.lookback_seconds), end)
    assert record.status == "active" and record.examples == 3000 and record.metrics["lineage"] == 1
    assert record.vw_args == LearningSettings().vw_args() and record.trained_at == NOW
    assert {d: greedy_arm(store, 1, d) for d in factories.BEST_ARM} == factories.BEST_ARM
    [report] = [r.document for r in store.reports.list("exp")]
    assert report["verdict"] == {"promoted": True, "reason": summary.reason}
    assert report["split"] == {"events": 3000, "from": record.data_from, "to": end}


def test_the_next_cycle_continues_the_learner_on_the_new_decisions_only(store: Store) -> None:
    exp = experiment()
    store.experiments.put(exp)
    factories.log_uniform_traffic(store, 2000)
    assert run_cycle(store, exp, NOW).status == "active"
    assert run_cycle(store, store.experiments.get("exp"), NOW).status == "skipped"  # nothing new
    factories.log_uniform_traffic(store, 1000, seed=1, ts=LATER)
    later = LATER + timedelta(hours=1)
    summary = run_cycle(store, store.experiments.get("exp"), later)
    assert (summary.mode, summary.events, summary.version) == ("continued", 1000, 2)
    # no candidate was offered while these events were served: v2 is offered, judged from now on
    assert (summary.status, summary.reason) == ("rejected", f"non-inferiority: {NOT_JUDGED}")
    record = store.policies.get("exp", 2)
    assert record.data_from == NOW - timedelta(seconds=60) and record.metrics["parent"] == 1
    assert record.metrics["lineage"] == 1 and record.metrics["evidence"]["n"] == 0
    assert store.experiments.get("exp").candidate_policy == 2
    factories.log_uniform_traffic(store, 1000, seed=2, ts=later)
    third = run_cycle(store, store.experiments.get("exp"), later + timedelta(hours=1))
    assert (third.mode, third.version, third.status) == ("continued", 3, "active")
    assert third.reason.startswith("non-inferiority: candidate v2 − serving =")
    assert (
        store.policies.get("exp", 3).metrics["judged"] == 2
        and store.policies.get("exp", 3).metrics["evidence"]["n"] == 1000
    )
    # the candidate judged is promoted; the learner that continues it is the candidate now
    assert [store.policies.get("exp", v).status for v in (1, 2, 3)] == ["retired", "active", "rejected"]
    after = store.experiments.get("exp")
    assert (after.active_policy, after.candidate_policy) == (2, 3)


def test_evidence_accumulates_over_cycles_until_it_suffices(store: Store) -> None:
    exp = experiment(holdout_min=500)
    store.experiments.put(exp)
    factories.log_uniform_traffic(store, 300)
    first = run_cycle(store, exp, NOW)
    assert (first.status, first.reason) == (
        "rejected",
        "superiority: only 300 events scored so far; promotion.min_events is 500",
    )
    factories.log_uniform_traffic(store, 700, seed=1, ts=LATER)
    second = run_cycle(store, store.experiments.get("exp"), LATER + timedelta(hours=1))
    assert (second.mode, second.events, second.status) == ("continued", 700, "active")
    assert "over 1,000 events" in second.reason  # both cycles' events


def test_a_learner_trained_on_shuffled_rewards_is_never_promoted(store: Store) -> None:
    exp = experiment()
    store.experiments.put(exp)
    factories.log_uniform_traffic(store, 3000)
    assert run_cycle(store, exp, NOW).status == "active"
    noise = factories.experiment(id="noise", reward=exp.reward, training=exp.training, promotion=exp.promotion)
    store.experiments.put(noise)
    factories.log_uniform_traffic(store, 3000, experiment_id="noise", shuffle_rewards=True)
    store.policies.activate("noise", *_copy_policy(store, "exp", "noise"))
    for hour in range(3):  # however often the evidence is looked at
        if hour:
            factories.log_uniform_traffic(
                store, 1000, experiment_id="noise", seed=hour, ts=NOW + timedelta(hours=hour - 1), shuffle_rewards=True
            )
        worse = run_cycle(store, store.experiments.get("noise"), NOW + timedelta(hours=hour))
        assert worse.status == "rejected" and "does not exceed" in worse.reason and "superiority" in worse.reason
    assert store.experiments.get("noise").active_policy == 1


def _copy_policy(store: Store, source: str, target: str) -> tuple[int, str]:
    """Register the source experiment's active policy as v1 of the target experiment."""
    record = store.policies.get(source, 1)
    store.policies.insert(factories.policy_record(experiment=target, version=1), store.policies.model(source, 1))
    return record.version, "copied"


INVERTED = {"mobile": "a", "desktop": "c", "tablet": "b"}  # every device's worst arm is "best" here


def serve_held_back(store: Store, trained_on: dict[str, str], visitors: int) -> None:
    """Experiment ``noise``, served by a policy trained (in ``exp``) on visitors who prefer
    ``trained_on``, with ``visitors`` of the usual kind logged; its learner is held back
    (min_improvement out of reach), so only the guard can replace what serves."""
    good = experiment()
    store.experiments.put(good)
    factories.log_uniform_traffic(store, 3000, best=trained_on)
    assert run_cycle(store, good, NOW).status == "active"
    promotion = PromotionSettings(min_events=50, min_improvement=10.0)
    store.experiments.put(
        factories.experiment(id="noise", reward=good.reward, training=good.training, promotion=promotion)
    )
    factories.log_uniform_traffic(store, visitors, experiment_id="noise")
    store.policies.activate("noise", *_copy_policy(store, "exp", "noise"))


def test_a_serving_policy_worse_than_uniform_random_is_retired(store: Store) -> None:
    """The serving policy learnt the opposite of what visitors now prefer; the learner is held
    back (min_improvement out of reach), but the serving policy's own evidence retires it."""
    serve_held_back(store, trained_on=INVERTED, visitors=3000)
    summary = run_cycle(store, store.experiments.get("noise"), NOW)
    assert summary.status == "rejected"
    assert store.experiments.get("noise").active_policy is None
    retired = store.policies.get("noise", 1)
    assert retired.status == "retired" and "worse than uniform random, which serves instead" in retired.reason


def test_too_few_decisions_for_a_new_learner_register_nothing(store: Store) -> None:
    exp = experiment(min_events=1000)
    store.experiments.put(exp)
    factories.log_uniform_traffic(store, 999)
    summary = run_cycle(store, exp, NOW)
    assert summary.status == "skipped" and summary.version is None
    assert summary.reason == (
        "a new learner (no learner yet) needs training.min_events (1,000) closed-window decisions in the "
        "lookback window; there are 999"
    )
    assert store.policies.list("exp") == [] and store.reports.list("exp") == []


@pytest.mark.parametrize("cb_type", ["ips", "dr", "mtr"])
def test_training_is_deterministic(store: Store, cb_type: str) -> None:
    models = []
    for database in ("one", "two"):
        other = mongo.embedded(database).store()
        exp = experiment(cb_type=cb_type, holdout_min=1)
        other.experiments.put(exp)
        factories.log_uniform_traffic(other, 400)
        run_cycle(other, exp, NOW)
        models.append(other.policies.model("exp", 1))
    assert models[0] == models[1]


def test_several_passes_count_the_data_once(store: Store) -> None:
    exp = experiment(passes=3, min_events=10)
    store.experiments.put(exp)
    factories.log_uniform_traffic(store, 300)
    summary = run_cycle(store, exp, NOW)
    assert summary.examples == 300 and summary.join["decisions"] == 300 and summary.events == 300


def test_progress_is_reported(store: Store) -> None:
    exp = experiment()
    store.experiments.put(exp)
    factories.log_uniform_traffic(store, 12_000)
    seen: list[int] = []
    run_cycle(store, exp, NOW + timedelta(hours=2), progress=seen.append)
    assert seen == [10_000]  # every 10,000 events scored and learned


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self):
        return self.now


def test_the_schedule_runs_cycles_when_due(store: Store) -> None:
    store.experiments.put(experiment(interval=600, holdout_min=1))
    factories.log_uniform_traffic(store, 200)
    clock = Clock()
    scheduler = Scheduler(store, "trainer-1", clock=clock)
    assert [s.version for s in scheduler.run_due()] == [1]
    factories.log_uniform_traffic(store, 200, seed=1, ts=NOW)  # closes by NOW + 160 s
    clock.now += timedelta(seconds=599)
    assert scheduler.run_due() == []
    clock.now += timedelta(seconds=2)
    assert [(s.version, s.mode, s.events) for s in scheduler.run_due()] == [(2, "continued", 200)]


def test_a_second_trainer_agrees_on_when_the_next_cycle_is_due(store: Store) -> None:
    store.experiments.put(experiment(interval=600))
    factories.log_uniform_traffic(store, 200)
    clock = Clock()
    Scheduler(store, "trainer-1", clock=clock).run_due()
    clock.now += timedelta(seconds=10)
    assert Scheduler(store, "trainer-2", clock=clock).run_due() == []


def test_a_held_lease_keeps_other_trainers_out_until_it_expires(store: Store) -> None:
    exp = experiment()
    store.experiments.put(exp)
    factories.log_uniform_traffic(store, 200)
    clock = Clock()
    store.leases.acquire(training_lease("exp"), "crashed-trainer", clock.now, 60)
    scheduler = Scheduler(store, "trainer-2", clock=clock)
    assert scheduler.run_due() == []
    with pytest.raises(TrainingBusy, match="being trained by another trainer"):
        scheduler.train_now(exp)
    clock.now += timedelta(seconds=60)
    assert [s.version for s in scheduler.run_due()] == [1]


def test_train_now_runs_even_when_not_due(store: Store) -> None:
    exp = experiment(interval=86_400)
    store.experiments.put(exp)
    factories.log_uniform_traffic(store, 200)
    scheduler = Scheduler(store, "t", clock=Clock())
    scheduler.run_due()
    assert scheduler.run_due() == []
    forced = scheduler.train_now(store.experiments.get("exp"))
    assert forced.status == "skipped" and forced.reason.startswith("no decision's attribution window closed since v1")


def test_a_failing_experiment_is_recorded_backs_off_and_never_blocks_the_others(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``broken`` sorts first, so before the fix its failure stopped the pass over experiments."""
    from trainer import cycle as cycles
    from trainer import schedule

    store.experiments.put(factories.experiment("broken", **_settings(experiment(interval=3600))))
    store.experiments.put(experiment(interval=3600))
    factories.log_uniform_traffic(store, 200)
    real_cycle = cycles.run_cycle

    def cycle(store_: Store, exp: Experiment, *args: object, **kwargs: object) -> object:
        if exp.id == "broken":
            raise RuntimeError("the model diverged")
        return real_cycle(store_, exp, *args, **kwargs)

    monkeypatch.setattr(schedule, "run_cycle", cycle)
    failures: list[tuple[str, str]] = []
    clock = Clock()
    scheduler = Scheduler(store, "trainer-1", clock=clock, failed=lambda e, reason: failures.append((e, reason)))
    assert [s.experiment for s in scheduler.run_due()] == ["exp"]
    assert failures == [("broken", "RuntimeError: the model diverged")]
    [entry] = store.audit.list("broken")
    assert (entry.action, entry.after) == ("training_failed", {"error": "RuntimeError: the model diverged"})

    # back-off: 60 s, then 120 s (at most the interval); the healthy experiment keeps its schedule
    clock.now += timedelta(seconds=59)
    assert scheduler.run_due() == [] and len(failures) == 1
    clock.now += timedelta(seconds=1)
    assert scheduler.run_due() == [] and len(failures) == 2
    clock.now += timedelta(seconds=119)
    assert scheduler.run_due() == [] and len(failures) == 2
    clock.now += timedelta(seconds=1)
    scheduler.run_due()
    assert len(failures) == 3
    with pytest.raises(TrainingFailed, match="the training cycle of `broken` failed: RuntimeError"):
        scheduler.train_now(store.experiments.get("broken"))

    monkeypatch.setattr(schedule, "run_cycle", real_cycle)  # mended: the next try succeeds and resets it
    clock.now += timedelta(seconds=3600)
    assert sorted(s.experiment for s in scheduler.run_due()) == ["broken", "exp"]
    assert store.leases.acquire(training_lease("broken"), "x", clock.now, 1).failures == 0


def _settings(exp: Experiment) -> dict[str, object]:
    return {"reward": exp.reward, "training": exp.training, "promotion": exp.promotion}


def raw_decision(event_id: str, **changed: object) -> dict[str, object]:
    """A stored decision document as written by hand, valid but for ``changed``."""
    return {
        "_id": event_id,
        "experiment": "exp",
        "ts": T0,
        "context": [],
        "actions": ["a", "b"],
        "action": "a",
        "probability": 0.5,
        "pmf": [0.5, 0.5],
        "policy_version": 0,
        "epsilon": 1.0,
        "explored": True,
        "deferred": False,
        "group": "bandit",
        **changed,
    }


def test_a_cycle_skips_and_counts_records_that_are_not_valid() -> None:
    """Documents written before validation existed (or by hand) never fail a cycle."""
    backend = mongo.embedded()
    backend.ensure_schema()
    store = backend.store()
    store.experiments.put(experiment())
    factories.log_uniform_traffic(store, 300)
    backend.db["decisions"].insert_many(
        [
            raw_decision("bad-number", context=[["x", 1e39]]),
            {"_id": "half", "experiment": "exp", "ts": T0},
            raw_decision("bad-pmf", pmf=[0.9, 0.9]),
            raw_decision("bad-candidate", candidate_version="v2"),
        ]
    )
    backend.db["rewards"].insert_one(
        {
            "_id": "bad-number default",
            "event_id": "bad-number",
            "reward_id": "default",
            "reward": float("inf"),
            "ts": T0,
            "experiment": "exp",
            "decision_ts": T0,
        }
    )
    summary = run_cycle(store, store.experiments.get("exp"), NOW)
    assert summary.status in ("active", "rejected") and summary.join["unreadable"] == 4
    assert summary.join["rewards_unreadable"] == 1 and summary.join["examples"] == 300


def test_a_policy_good_until_tastes_change_is_retired_on_the_events_since(store: Store) -> None:
    """The guard's evidence is not diluted by the cycles before the change."""
    serve_held_back(store, trained_on=factories.BEST_ARM, visitors=6000)  # the policy is right here
    assert run_cycle(store, store.experiments.get("noise"), NOW).status == "rejected"
    assert store.experiments.get("noise").active_policy == 1
    factories.log_uniform_traffic(store, 1500, experiment_id="noise", seed=1, ts=NOW, best=INVERTED)
    run_cycle(store, store.experiments.get("noise"), LATER)
    assert store.experiments.get("noise").active_policy is None
    # the world it learned changed: a new learner learns the events since the harm began, not the 6,000 before
    factories.log_uniform_traffic(store, 500, experiment_id="noise", seed=2, ts=LATER, best=INVERTED)
    anew = run_cycle(store, store.experiments.get("noise"), LATER + timedelta(hours=1))
    assert (anew.mode, anew.events) == ("new", 2000)
    record = store.policies.get("noise", anew.version)
    assert record.metrics["why"] == "the guard retired v1: anew since the harm began"
    assert record.metrics["evidence"]["n"] == 500  # judged on the events uniform random served since the retirement


def test_a_rejected_learner_is_the_candidate_until_its_evidence_shows_it_worse_than_uniform_random(
    store: Store,
) -> None:
    """The learner is held back (min_improvement out of reach); after each rejection it is the
    candidate, the learner whose greedy choice gets ``exploration.candidate_share`` of the
    exploration budget, until its own evidence (learner − uniform random, as the guard's) shows
    it worse than uniform random: tastes turned against what it learned."""
    base = experiment()
    held_back = PromotionSettings(min_events=50, min_improvement=10.0)
    exp = factories.experiment(reward=base.reward, training=base.training, promotion=held_back, candidate_share=0.5)
    store.experiments.put(exp)
    factories.log_uniform_traffic(store, 3000, best=INVERTED)
    assert run_cycle(store, store.experiments.get("exp"), NOW).status == "rejected"
    assert store.experiments.get("exp").candidate_policy == 1
    factories.log_uniform_traffic(store, 600, seed=1, ts=NOW, best=factories.BEST_ARM)
    assert run_cycle(store, store.experiments.get("exp"), LATER).status == "rejected"
    assert store.experiments.get("exp").candidate_policy is None
    guard = store.policies.get("exp", 2).metrics["candidate_guard"]
    assert guard["n"] == 600


def test_a_promoted_candidate_serves_and_its_continuation_is_offered(store: Store) -> None:
    base = experiment()
    held_back = PromotionSettings(min_events=50, min_improvement=10.0)
    exp = factories.experiment(reward=base.reward, training=base.training, promotion=held_back, candidate_share=1)
    store.experiments.put(exp)
    factories.log_uniform_traffic(store, 3000)
    assert run_cycle(store, store.experiments.get("exp"), NOW).status == "rejected"
    assert store.experiments.get("exp").candidate_policy == 1
    store.experiments.put(replace(exp, promotion=base.promotion))  # no longer held back
    factories.log_uniform_traffic(store, 1000, seed=1, ts=NOW)
    assert run_cycle(store, store.experiments.get("exp"), LATER).status == "active"
    after = store.experiments.get("exp")  # v1, the candidate judged, serves; v2, which continues it, is offered
    assert (after.active_policy, after.candidate_policy) == (1, 2)
