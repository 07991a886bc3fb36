"""Policy search: the candidate settings, the sample, blocks held out in time, the budget, and
the search inside a training cycle."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from itertools import count

import pytest

from policy.experiment import Experiment, PromotionSettings, RewardSettings, TrainingSettings
from policy.features import arm_line
from policy.learning import LearningSettings, SearchSettings
from store.repositories import Store
from tests import factories
from tests.factories import T0
from trainer.cycle import run_cycle, run_search
from trainer.join import Example
from trainer.search import Sample, search

NOW = T0 + timedelta(hours=4)
ARM_LINES = {a: arm_line(a, {"color": c}) for a, c in (("a", "red"), ("b", "blue"), ("c", "green"))}


def experiment(search: SearchSettings | None = None, holdout_min: int = 50) -> Experiment:
    return factories.experiment(
        reward=RewardSettings(window_seconds=60),
        training=TrainingSettings(min_events=100, search=search or SearchSettings()),
        promotion=PromotionSettings(min_events=holdout_min),
    )


def test_candidates_are_the_start_then_every_setting_one_option_away() -> None:
    start = LearningSettings(learning_rate=0.2)
    candidates = SearchSettings().candidates(start)
    assert candidates[0] == start and len(candidates) == len(set(candidates))
    for settings in candidates[1:]:
        changed = [
            f
            for f in ("learning_rate", "cb_type", "interactions", "l2", "clip_p", "passes")
            if getattr(settings, f) != getattr(start, f)
        ]
        assert len(changed) == 1
    # 4 other learning rates, 2 other cost estimators, 1 other interaction set, 1 l2, 2 clip_p, 1 passes
    assert len(candidates) == 1 + 4 + 2 + 1 + 1 + 2 + 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"learning_rates": (0.5, 50.0)}, "`search.learning_rate`: `learning_rate` must be in [1e-06, 10], got 50.0"),
        ({"cb_types": ("ips", "sgd")}, "`search.cb_type`: `cb_type` must be one of ips, dr, mtr, got 'sgd'"),
        ({"interactions": (("UA",), ("UX",))}, "`search.interactions`: `interactions` holds 2-3 letters"),
        ({"passes": ()}, "`search` must list 1 to 10 values of passes, got 0"),
        ({"folds": 1}, "`search.folds` must be an integer in [2, 10], got 1"),
        ({"max_events": 10}, "`search.max_events` must be an integer in [100, 10,000,000], got 10"),
        ({"budget_seconds": 0}, "`search.budget_seconds` must be in [1, 86400], got 0"),
    ],
)
def test_invalid_search_settings_are_rejected(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        SearchSettings(**kwargs)
    assert str(raised.value).startswith(message)


def test_training_settings_round_trip_through_a_document() -> None:
    settings = TrainingSettings(
        vw=LearningSettings(interactions=("UA", "AA")), search=SearchSettings(learning_rates=(0.1,), folds=3)
    )
    doc = settings.to_dict()
    assert doc["search"]["interactions"] == [["UA"], ["UA", "AA"]] and doc["vw"]["interactions"] == ["UA", "AA"]
    assert TrainingSettings.from_dict(doc) == settings
    # documents written before the search existed read back with its defaults
    assert TrainingSettings.from_dict({"interval_seconds": 60, "min_events": 5, "vw": {}}).search == SearchSettings()
    with pytest.raises(ValueError, match=r"^training.search: `search.folds`"):
        TrainingSettings.from_dict({"search": {"folds": 0}})


def test_the_sample_keeps_everything_in_stream_order_when_it_fits() -> None:
    sample: Sample[int] = Sample(10, seed=1)
    for i in range(7):
        sample.add(i)
    assert sample.items() == list(range(7))


def test_the_sample_is_uniform_and_in_stream_order() -> None:
    kept: Counter[int] = Counter()
    for seed in range(2000):
        sample: Sample[int] = Sample(10, seed)
        for i in range(100):
            sample.add(i)
        items = sample.items()
        assert len(items) == 10 and items == sorted(items)
        kept.update(items)
    # each item is kept with probability 0.1: 200 of 2,000 times, standard deviation 13.4
    assert all(abs(kept[i] - 200) < 5 * 13.4 for i in range(100))


def pure_noise(n: int, seed: int = 0) -> list[Example]:
    """Events whose context is unique to each and whose reward is a fair coin, whatever the arm."""
    rng = random.Random(seed)
    return [
        Example(
            f"e{i:06d}", T0, {"visitor": f"v{i}"}, ("a", "b", "c"), rng.choice("abc"), 1 / 3, float(rng.random() < 0.5)
        )
        for i in range(n)
    ]


def test_a_model_is_never_scored_on_events_it_learned() -> None:
    # A model that memorises each visitor would look far better than a coin on events it learned
    # (it would pick the arm logged with a click); on events it never saw it is worth the coin.
    memorise = LearningSettings(learning_rate=10.0, passes=3, clip_p=0.0)
    exp = experiment(
        SearchSettings(
            learning_rates=(10.0,), cb_types=("mtr",), interactions=(("UA",),), l2=(0.0,), clip_p=(0.0,), passes=(3,)
        )
    )
    exp = replace(exp, epsilon=0.0, training=replace(exp.training, vw=memorise))
    result = search(exp, memorise, pure_noise(2000), ARM_LINES)
    [trial] = result.trials
    assert trial.estimate is not None and trial.estimate.low < 0.5 < trial.estimate.high


def test_a_setting_better_with_confidence_replaces_the_start_and_every_trial_is_reported() -> None:
    exp = experiment(
        SearchSettings(
            learning_rates=(0.05,),
            cb_types=("mtr",),
            interactions=(("UA",),),
            l2=(0.0,),
            clip_p=(0.2,),
            passes=(1,),
        )
    )
    exp = replace(exp, epsilon=1.0)  # greedy policies are compared, whatever the exploration
    start = LearningSettings(interactions=())  # blind to the device: one arm for all, worth about 0.4
    result = search(exp, start, _examples(3000), ARM_LINES)
    estimates = {t.settings.interactions: t.estimate.value for t in result.trials}
    assert set(estimates) == {(), ("UA",)}
    assert estimates[("UA",)] > 0.7 > 0.5 > estimates[()]  # the learned choice per device (0.8)
    assert result.chosen.interactions == ("UA",) and result.gain is not None and result.gain.low > 0
    doc = result.as_dict()
    assert doc["events"] == 3000 and doc["folds"] == 3 and doc["metric"] == "dr"
    # blocks 2 and 3 are scored, each by models trained on the blocks before it
    assert all(t.estimate is not None and t.estimate.n == 2000 for t in result.trials)
    assert doc["method"].startswith("3 blocks in time of 3,000 sampled training events")
    assert "the best other setting replaces the starting one" in doc["method"]
    assert [t["chosen"] for t in doc["trials"]].count(True) == 1


def test_the_start_stays_unless_another_setting_is_better_with_confidence() -> None:
    """On rewards that are pure noise every setting is worth the same: the highest estimate is
    another setting's by chance (3 of the 4), and the search must not chase it."""
    exp = experiment(
        SearchSettings(
            learning_rates=(0.01, 0.05, 0.2, 1.0),
            cb_types=("mtr",),
            interactions=(("UA",),),
            l2=(0.0,),
            clip_p=(0.2,),
            passes=(1,),
        )
    )
    start = LearningSettings()
    result = search(replace(exp, epsilon=0.0), start, pure_noise(2000), ARM_LINES)
    assert len(result.trials) == 4 and result.chosen == start
    best = max(result.trials, key=lambda t: t.estimate.value)
    assert best.settings != start  # so a rule that took the highest estimate would have moved
    assert result.gain is not None and result.gain.low <= 0 < result.gain.high
    assert "does not replace the starting one" in result.as_dict()["method"]


def test_settings_not_started_within_the_budget_are_skipped() -> None:
    ticks = count(step=200.0)  # every clock reading is 200 s later: past the budget after the start
    exp = experiment(SearchSettings(budget_seconds=150.0))
    result = search(
        exp, LearningSettings(), _examples(600), ARM_LINES, clock=lambda: T0 + timedelta(seconds=next(ticks))
    )
    tried = [t for t in result.trials if t.estimate is not None]
    assert tried == result.trials[:1] and result.chosen == LearningSettings()
    assert {t.as_dict(False)["status"] for t in result.trials[1:]} == {"skipped: time budget"}


def test_too_few_events_mean_no_search() -> None:
    result = search(experiment(holdout_min=500), LearningSettings(), _examples(300), ARM_LINES)
    assert result.trials == [] and result.chosen == LearningSettings()
    assert result.as_dict()["method"] == "no search: 300 training events; it needs promotion.min_events (500)"


def _examples(n: int) -> list[Example]:
    """Uniformly logged clicks of the factories' shop (best arm per device)."""
    rng = random.Random(3)
    out = []
    for i in range(n):
        device = rng.choice(list(factories.BEST_ARM))
        action = rng.choice("abc")
        reward = float(rng.random() < (0.8 if action == factories.BEST_ARM[device] else 0.2))
        out.append(Example(f"e{i:06d}", T0, {"device": device}, ("a", "b", "c"), action, 1 / 3, reward))
    return out


def test_a_new_learner_takes_the_chosen_settings_and_keeps_them_as_it_continues(store: Store) -> None:
    exp = experiment(
        SearchSettings(
            learning_rates=(0.05, 0.5, 1.0),
            cb_types=("mtr", "ips"),
            interactions=(("UA",),),
            l2=(0.0,),
            clip_p=(0.0,),
            passes=(1,),
        )
    )
    store.experiments.put(exp)
    factories.log_uniform_traffic(store, 3000)
    run_cycle(store, exp, NOW)
    first = store.reports.list("exp")[0].document["search"]
    chosen = LearningSettings(**first["chosen"])
    record = store.policies.get("exp", 1)
    assert LearningSettings(**record.learning) == chosen and record.vw_args == chosen.vw_args()
    assert LearningSettings(**first["trials"][0]["learning"]) == LearningSettings()  # the configured start
    later = NOW + timedelta(hours=1)
    factories.log_uniform_traffic(store, 500, seed=1, ts=later)
    assert run_cycle(store, store.experiments.get("exp"), later + timedelta(hours=1)).mode == "continued"
    assert store.reports.list("exp")[0].document["search"] is None  # a continued learner keeps its settings
    assert LearningSettings(**store.policies.get("exp", 2).learning) == chosen


def test_without_the_search_the_candidate_uses_the_configured_settings(store: Store) -> None:
    exp = experiment(SearchSettings(enabled=False))
    exp = replace(exp, training=replace(exp.training, vw=LearningSettings(learning_rate=0.1)))
    store.experiments.put(exp)
    factories.log_uniform_traffic(store, 1000)
    run_cycle(store, exp, NOW)
    assert store.reports.list("exp")[0].document["search"] is None
    assert store.policies.get("exp", 1).learning["learning_rate"] == 0.1


def test_a_search_on_demand_registers_nothing(store: Store) -> None:
    exp = experiment(
        SearchSettings(
            learning_rates=(0.05,), cb_types=("mtr",), interactions=(("UA",),), l2=(0.0,), clip_p=(0.2,), passes=(1, 2)
        )
    )
    store.experiments.put(exp)
    factories.log_uniform_traffic(store, 1000)
    result = run_search(store, exp, NOW)
    assert result.events == 1000 and [t.settings.passes for t in result.trials] == [1, 2]
    assert store.policies.list("exp") == [] and store.reports.list("exp") == []


def test_a_search_starts_from_the_configured_settings_when_the_last_ones_are_invalid(store: Store) -> None:
    exp = experiment(
        SearchSettings(
            learning_rates=(0.5,), cb_types=("mtr",), interactions=(("UA",),), l2=(0.0,), clip_p=(0.0,), passes=(1,)
        )
    )
    store.experiments.put(exp)
    store.policies.insert(factories.policy_record(learning={"cb_type": "sgd"}), b"")  # written by another version
    factories.log_uniform_traffic(store, 1000)
    assert run_search(store, exp, NOW).trials[0].settings == LearningSettings()
