"""Training cycles and the schedule, on the store (every backend)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mvt_service.store import Store
from policy.experiment import RewardSettings, TrainingSettings
from policy.features import arm_line, context_line
from policy.learning import LearningSettings
from policy.model import VWModel
from tests import factories
from tests.factories import T0
from trainer.cycle import run_cycle
from trainer.schedule import Scheduler, TrainingBusy

NOW = T0 + timedelta(hours=2)


def experiment(min_events: int = 100, interval: int = 3600, **vw: object):
    return factories.experiment(
        reward=RewardSettings(window_seconds=60),
        training=TrainingSettings(interval_seconds=interval, min_events=min_events, vw=LearningSettings(**vw)),
    )


def greedy_arm(store: Store, version: int, device: str) -> str:
    model = VWModel.from_bytes(store.policy_model("exp", version))
    try:
        lines = [arm_line(a, {"color": c}) for a, c in (("a", "red"), ("b", "blue"), ("c", "green"))]
        scores = model.score(context_line({"device": device}), lines)
        return "abc"[scores.index(max(scores))]
    finally:
        model.close()


def test_a_cycle_trains_registers_and_activates(store: Store) -> None:
    exp = experiment()
    store.put_experiment(exp)
    factories.log_uniform_traffic(store, 3000)
    summary = run_cycle(store, exp, NOW)
    assert (summary.status, summary.version, summary.examples) == ("active", 1, 3000)
    record = store.get_policy("exp", 1)
    assert record.status == "active" and record.examples == 3000
    assert record.vw_args == LearningSettings().vw_args()
    assert (record.data_from, record.data_to) == (T0, T0)
    assert record.join["defaulted"] > 0 and record.trained_at == NOW
    assert store.get_experiment("exp").active_policy == 1
    assert {d: greedy_arm(store, 1, d) for d in factories.BEST_ARM} == factories.BEST_ARM


def test_a_second_cycle_retires_the_first_policy(store: Store) -> None:
    exp = experiment()
    store.put_experiment(exp)
    factories.log_uniform_traffic(store, 500)
    run_cycle(store, exp, NOW)
    assert run_cycle(store, exp, NOW).version == 2
    assert [(p.version, p.status) for p in store.list_policies("exp")] == [(2, "active"), (1, "retired")]


def test_too_few_examples_register_nothing(store: Store) -> None:
    exp = experiment(min_events=1000)
    store.put_experiment(exp)
    factories.log_uniform_traffic(store, 999)
    summary = run_cycle(store, exp, NOW)
    assert summary.status == "skipped" and summary.version is None
    assert summary.reason == "999 examples with closed windows; training.min_events is 1000"
    assert store.list_policies("exp") == []


@pytest.mark.parametrize("cb_type", ["ips", "dr", "mtr"])
def test_training_is_deterministic(store: Store, cb_type: str) -> None:
    exp = experiment(cb_type=cb_type)
    store.put_experiment(exp)
    factories.log_uniform_traffic(store, 400)
    run_cycle(store, exp, NOW)
    run_cycle(store, exp, NOW)
    assert store.policy_model("exp", 1) == store.policy_model("exp", 2)


def test_several_passes_count_the_data_once(store: Store) -> None:
    exp = experiment(passes=3)
    store.put_experiment(exp)
    factories.log_uniform_traffic(store, 300)
    seen = []
    summary = run_cycle(store, exp, NOW, progress=seen.append)
    assert summary.examples == 300 and summary.join["decisions"] == 300
    assert seen == []  # progress comes every 10,000 examples


def test_progress_is_reported(store: Store) -> None:
    exp = experiment(passes=2)
    store.put_experiment(exp)
    factories.log_uniform_traffic(store, 5000)
    seen = []
    run_cycle(store, exp, NOW, progress=seen.append)
    assert seen == [10_000]


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self):
        return self.now


def test_the_schedule_runs_cycles_when_due(store: Store) -> None:
    store.put_experiment(experiment(interval=600))
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
