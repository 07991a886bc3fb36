"""Training cycles and the schedule, on the store (every backend)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mvt_service.store import Store
from policy.experiment import Experiment, PromotionSettings, RewardSettings, TrainingSettings
from policy.features import arm_line, context_line
from policy.learning import LearningSettings, SearchSettings
from policy.model import VWModel
from tests import factories
from tests.factories import T0
from trainer.cycle import run_cycle
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
    model = VWModel.from_bytes(store.policy_model("exp", version))
    try:
        lines = [arm_line(a, {"color": c}) for a, c in (("a", "red"), ("b", "blue"), ("c", "green"))]
        scores = model.score(context_line({"device": device}), lines)
        return "abc"[scores.index(max(scores))]
    finally:
        model.close()


def test_a_cycle_trains_on_the_older_part_and_promotes_a_better_candidate(store: Store) -> None:
    exp = experiment()
    store.put_experiment(exp)
    factories.log_uniform_traffic(store, 3000)
    summary = run_cycle(store, exp, NOW)
    assert (summary.status, summary.version, summary.examples) == ("active", 1, 3000)
    assert (summary.train_events, summary.holdout_events) == (2400, 600)
    assert "the lower bound exceeds min_improvement 0" in summary.reason
    record = store.get_policy("exp", 1)
    assert record.status == "active" and record.examples == 2400
    assert record.vw_args == LearningSettings().vw_args()
    split = T0 + timedelta(seconds=2400 / 2)
    assert (record.data_from, record.data_to) == (T0, split)
    assert record.join["defaulted"] > 0 and record.trained_at == NOW
    assert store.get_experiment("exp").active_policy == 1
    assert {d: greedy_arm(store, 1, d) for d in factories.BEST_ARM} == factories.BEST_ARM
    [report] = store.list_reports("exp")
    assert report["verdict"] == {"promoted": True, "reason": summary.reason}
    assert report["split"] == {"train_events": 2400, "holdout_events": 600, "split_ts": split}


def test_a_candidate_no_better_than_the_active_policy_is_rejected(store: Store) -> None:
    exp = experiment()
    store.put_experiment(exp)
    factories.log_uniform_traffic(store, 1000)
    run_cycle(store, exp, NOW)
    second = run_cycle(store, store.get_experiment("exp"), NOW)  # same data: the same model
    assert (second.status, second.version) == ("rejected", 2)
    assert "candidate − active = +0 [+0, +0] by DR" in second.reason
    assert [(p.version, p.status) for p in store.list_policies("exp")] == [(2, "rejected"), (1, "active")]
    assert store.get_policy("exp", 2).reason == second.reason


def test_a_candidate_trained_on_shuffled_rewards_is_rejected(store: Store) -> None:
    exp = experiment()
    store.put_experiment(exp)
    factories.log_uniform_traffic(store, 3000)
    assert run_cycle(store, exp, NOW).status == "active"
    noise = factories.experiment(id="noise", reward=exp.reward, training=exp.training, promotion=exp.promotion)
    store.put_experiment(noise)
    factories.log_uniform_traffic(store, 3000, experiment_id="noise", shuffle_rewards=True)
    store.activate_policy("noise", *_copy_policy(store, "exp", "noise"))
    worse = run_cycle(store, store.get_experiment("noise"), NOW)
    assert worse.status == "rejected" and "does not exceed" in worse.reason
    assert store.get_experiment("noise").active_policy == 1


def _copy_policy(store: Store, source: str, target: str) -> tuple[int, str]:
    """Register the source experiment's active policy as v1 of the target experiment."""
    record = store.get_policy(source, 1)
    store.insert_policy(factories.policy_record(experiment=target, version=1), store.policy_model(source, 1))
    return record.version, "copied"


def test_too_few_held_out_events_reject_the_candidate(store: Store) -> None:
    exp = experiment(holdout_min=1000)
    store.put_experiment(exp)
    factories.log_uniform_traffic(store, 1000)
    summary = run_cycle(store, exp, NOW)
    assert summary.status == "rejected"
    assert summary.reason == "only 200 held-out events; promotion.min_events is 1000"
    assert store.get_experiment("exp").active_policy is None


def test_too_few_examples_register_nothing(store: Store) -> None:
    exp = experiment(min_events=1000)
    store.put_experiment(exp)
    factories.log_uniform_traffic(store, 1249)
    summary = run_cycle(store, exp, NOW)
    assert summary.status == "skipped" and summary.version is None
    assert summary.reason == "999 training examples (of 1249 with closed windows); training.min_events is 1000"
    assert store.list_policies("exp") == [] and store.list_reports("exp") == []


@pytest.mark.parametrize("cb_type", ["ips", "dr", "mtr"])
def test_training_is_deterministic(store: Store, cb_type: str) -> None:
    exp = experiment(cb_type=cb_type, holdout_min=1)
    store.put_experiment(exp)
    factories.log_uniform_traffic(store, 400)
    run_cycle(store, exp, NOW)
    run_cycle(store, exp, NOW)
    assert store.policy_model("exp", 1) == store.policy_model("exp", 2)


def test_several_passes_count_the_data_once(store: Store) -> None:
    exp = experiment(passes=3, min_events=10)
    store.put_experiment(exp)
    factories.log_uniform_traffic(store, 300)
    seen = []
    summary = run_cycle(store, exp, NOW, progress=seen.append)
    assert summary.examples == 300 and summary.join["decisions"] == 300
    assert (summary.train_events, summary.holdout_events) == (240, 60)
    assert seen == []  # progress comes every 10,000 examples


def test_progress_is_reported(store: Store) -> None:
    exp = experiment(passes=2)
    store.put_experiment(exp)
    factories.log_uniform_traffic(store, 7000)
    seen = []
    run_cycle(store, exp, NOW, progress=seen.append)
    assert seen == [10_000]  # two passes over 5,600 training examples


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self):
        return self.now


def test_the_schedule_runs_cycles_when_due(store: Store) -> None:
    store.put_experiment(experiment(interval=600, holdout_min=1))
    factories.log_uniform_traffic(store, 200)
    clock = Clock()
    scheduler = Scheduler(store, "trainer-1", clock=clock)
    assert [s.version for s in scheduler.run_due()] == [1]
    clock.now += timedelta(seconds=599)
    assert scheduler.run_due() == []
    clock.now += timedelta(seconds=2)
    assert [s.version for s in scheduler.run_due()] == [2]


def test_a_second_trainer_agrees_on_when_the_next_cycle_is_due(store: Store) -> None:
    store.put_experiment(experiment(interval=600))
    factories.log_uniform_traffic(store, 200)
    clock = Clock()
    Scheduler(store, "trainer-1", clock=clock).run_due()
    clock.now += timedelta(seconds=10)
    assert Scheduler(store, "trainer-2", clock=clock).run_due() == []


def test_a_held_lease_keeps_other_trainers_out_until_it_expires(store: Store) -> None:
    exp = experiment()
    store.put_experiment(exp)
    factories.log_uniform_traffic(store, 200)
    clock = Clock()
    store.acquire_lease("train:exp", "crashed-trainer", clock.now, 60)
    scheduler = Scheduler(store, "trainer-2", clock=clock)
    assert scheduler.run_due() == []
    with pytest.raises(TrainingBusy, match="being trained by another trainer"):
        scheduler.train_now(exp)
    clock.now += timedelta(seconds=60)
    assert [s.version for s in scheduler.run_due()] == [1]


def test_train_now_runs_even_when_not_due(store: Store) -> None:
    exp = experiment(interval=86_400)
    store.put_experiment(exp)
    factories.log_uniform_traffic(store, 200)
    scheduler = Scheduler(store, "t", clock=Clock())
    scheduler.run_due()
    assert scheduler.run_due() == []
    assert scheduler.train_now(exp).version == 2


def test_a_failing_experiment_is_recorded_backs_off_and_never_blocks_the_others(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``broken`` sorts first, so before the fix its failure stopped the pass over experiments."""
    from trainer import cycle as cycles
    from trainer import schedule

    store.put_experiment(factories.experiment("broken", **_settings(experiment(interval=3600))))
    store.put_experiment(experiment(interval=3600))
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
    [entry] = store.list_audit("broken")
    assert (entry["action"], entry["after"]) == ("training_failed", {"error": "RuntimeError: the model diverged"})

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
        scheduler.train_now(store.get_experiment("broken"))

    monkeypatch.setattr(schedule, "run_cycle", real_cycle)  # mended: the next try succeeds and resets it
    clock.now += timedelta(seconds=3600)
    assert sorted(s.experiment for s in scheduler.run_due()) == ["broken", "exp"]
    assert store.acquire_lease("train:broken", "x", clock.now, 1).failures == 0


def _settings(exp: Experiment) -> dict[str, object]:
    return {"reward": exp.reward, "training": exp.training, "promotion": exp.promotion}


def test_a_cycle_skips_and_counts_records_that_are_not_valid(store: Store) -> None:
    """Documents written before validation existed (or by hand) never fail a cycle."""
    store.put_experiment(experiment())
    factories.log_uniform_traffic(store, 300)
    store.decisions.insert_many(
        [
            {
                "_id": "bad-number",
                "experiment": "exp",
                "ts": T0,
                "context": [["x", 1e39]],
                "actions": ["a", "b"],
                "action": "a",
                "probability": 0.5,
                "pmf": [0.5, 0.5],
                "policy_version": 0,
                "epsilon": 1.0,
                "explored": True,
                "deferred": False,
                "group": "bandit",
            },
            {"_id": "half", "experiment": "exp", "ts": T0},
            {
                "_id": "bad-pmf",
                "experiment": "exp",
                "ts": T0,
                "context": [],
                "actions": ["a", "b"],
                "action": "a",
                "probability": 0.5,
                "pmf": [0.9, 0.9],
                "policy_version": 0,
                "epsilon": 1.0,
                "explored": True,
                "deferred": False,
                "group": "bandit",
            },
        ]
    )
    store.rewards.insert_one(
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
    summary = run_cycle(store, store.get_experiment("exp"), NOW)
    assert summary.status in ("active", "rejected") and summary.join["unreadable"] == 3
    assert summary.join["rewards_unreadable"] == 1 and summary.join["examples"] == 300
