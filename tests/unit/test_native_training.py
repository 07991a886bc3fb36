"""Training with VW's own parser gives what one Python call per example gives, and runs in parallel."""

from __future__ import annotations

import random

import pytest

from policy.exploration import EpsilonGreedy
from policy.features import arm_line, context_line
from policy.learning import LearningSettings
from policy.model import Predictions, VWModel
from simulator.offline import arm_lines, uniform_log
from simulator.shop import Shop
from trainer.progressive import CROSS_FIT_FOLDS, cross_fitted, score_and_learn
from trainer.train import Row, data_file, fit_predict, in_parallel, learn
from trainer.train import rows as encoded

ARMS = [arm_line(a, {"color": c}) for a, c in (("a", "red"), ("b", "blue"), ("c", "red"))]
SETTINGS = LearningSettings(interactions=("UA", "AA"))


def logged(n: int, seed: int = 0) -> list[Row]:
    """Uniformly logged rows where mobile visitors like arm b and the others arm a."""
    rng = random.Random(seed)
    found = []
    for _ in range(n):
        device = rng.choice(["mobile", "desktop", "tablet"])
        chosen = rng.randrange(3)
        best = 1 if device == "mobile" else 0
        reward = float(rng.random() < (0.7 if chosen == best else 0.2))
        found.append(Row(context_line({"device": device}), ARMS, chosen, 1 / 3, reward))
    return found


def one_call_per_row(model: VWModel, rows: list[Row], passes: int = 1) -> list[list[float]]:
    """Progressive scores the slow way: score each row, then learn it."""
    scores = []
    for _ in range(passes):
        for row in rows:
            scores.append(model.score(row.context, row.lines))
            model.learn(row.context, row.lines, row.chosen, row.probability, row.reward)
    return scores


def assert_close(a: list[list[float]], b: list[list[float]]) -> None:
    """Equal to VW's printed precision: six significant digits."""
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x == pytest.approx(y, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("passes", [1, 3])
def test_a_file_run_scores_and_learns_as_one_call_per_row_does(passes: int) -> None:
    rows = logged(600)
    slow = VWModel.new(SETTINGS, seed=4)
    expected = one_call_per_row(slow, rows, passes)
    with data_file(rows) as path:
        fast, scores = VWModel.run(path, SETTINGS, passes=passes, seed=4)
    try:
        assert_close(scores.rows(), expected)
        probe = context_line({"device": "mobile"})
        assert fast.score(probe, ARMS) == pytest.approx(slow.score(probe, ARMS), rel=1e-6)
    finally:
        slow.close()
        fast.close()


def test_a_run_continues_a_saved_model_with_its_learning_state() -> None:
    rows = logged(800, seed=1)
    slow = VWModel.new(SETTINGS)
    one_call_per_row(slow, rows[:400])
    saved = slow.to_bytes()
    expected = one_call_per_row(slow, rows[400:])
    with data_file(rows[400:]) as path:
        fast, scores = VWModel.run(path, saved)
    try:
        assert_close(scores.rows(), expected)
    finally:
        slow.close()
        fast.close()


def test_a_run_without_learning_leaves_the_model_as_it_was() -> None:
    rows = logged(300, seed=2)
    (model,) = learn(rows, [SETTINGS])
    saved = model.to_bytes()
    expected = [model.score(r.context, r.lines) for r in rows]
    model.close()
    with data_file(rows) as path:
        first, scores = VWModel.run(path, saved, learn=False)
        second, again = VWModel.run(path, saved, learn=False)
    first.close()
    second.close()
    assert_close(scores.rows(), expected)
    assert scores.rows() == again.rows()


def test_unlabelled_rows_are_predicted_by_the_trained_model_and_not_learned() -> None:
    rows = logged(500, seed=3)
    probes = logged(30, seed=4)
    (model,) = learn(rows, [SETTINGS])
    expected = [model.score(r.context, r.lines) for r in probes]
    model.close()
    with data_file(rows, probes) as path:
        assert_close(fit_predict(path, len(probes), SETTINGS).rows(), expected)


def test_models_for_several_settings_train_in_parallel_and_match_one_by_one() -> None:
    rows = logged(400, seed=5)
    settings = [SETTINGS, LearningSettings(learning_rate=0.05, passes=2), LearningSettings(cb_type="dr")]
    together = learn(rows, settings)
    alone = [learn(rows, [s])[0] for s in settings]
    probe = context_line({"device": "tablet"})
    try:
        for a, b in zip(together, alone):
            assert a.score(probe, ARMS) == b.score(probe, ARMS)
    finally:
        for model in together + alone:
            model.close()


def test_bytes_that_are_not_a_model_are_refused() -> None:
    with data_file(logged(5)) as path, pytest.raises(ValueError, match="not a loadable VW model"):
        VWModel.run(path, b"not a model" * 20)


def test_when_one_parallel_task_fails_the_others_results_are_released() -> None:
    released: list[int] = []

    def fine() -> int:
        return 7

    def broken() -> int:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        in_parallel([fine, broken], released.append)
    assert released == [7]


def test_predictions_of_runs_are_joined_and_cut_by_example() -> None:
    rows = logged(40, seed=6)
    with data_file(rows) as path:
        model, scores = VWModel.run(path, SETTINGS)
    model.close()
    halves = [scores.part(0, 15), scores.part(15, 40)]
    assert [len(h) for h in halves] == [15, 25]
    assert Predictions.joined(halves).rows() == scores.rows()


def test_cross_fitting_scores_each_row_by_a_model_trained_on_the_other_folds() -> None:
    rows = logged(103, seed=6)
    scores = cross_fitted(rows, SETTINGS, seed=2).rows()
    assert len(scores) == len(rows)
    for f in range(CROSS_FIT_FOLDS):
        (model,) = learn([r for i, r in enumerate(rows) if i % CROSS_FIT_FOLDS != f], [SETTINGS], seed=2)
        try:
            expected = [model.score(r.context, r.lines) for r in rows[f::CROSS_FIT_FOLDS]]
        finally:
            model.close()
        assert_close(scores[f::CROSS_FIT_FOLDS], expected)


def test_a_new_learner_is_judged_cross_fitted_and_a_continued_one_progressively() -> None:
    shop = Shop()
    events, lines = uniform_log(shop, 300, seed=7), arm_lines(shop)
    settings = LearningSettings()
    model, new = score_and_learn(settings, None, events, lines, EpsilonGreedy(0.1), seed=1)
    try:
        saved = model.to_bytes()
    finally:
        model.close()
    crossed = cross_fitted(list(encoded(events, lines)), settings, seed=1)
    assert new.log.predicted.tolist() == crossed.values.tolist()
    continued, again = score_and_learn(saved, None, events, lines, EpsilonGreedy(0.1))
    continued.close()
    with data_file(encoded(events, lines)) as path:
        progressive, scores = VWModel.run(path, saved)
    progressive.close()
    assert again.log.predicted.tolist() == scores.values.tolist()


def test_the_candidate_is_judged_as_it_was_offered_while_the_learner_goes_on_learning() -> None:
    shop = Shop()
    lines = arm_lines(shop)
    model, _ = score_and_learn(LearningSettings(), None, uniform_log(shop, 300, seed=7), lines, EpsilonGreedy(0.1))
    try:
        offered = model.to_bytes()
    finally:
        model.close()
    events = uniform_log(shop, 200, seed=8)
    learner, judged = score_and_learn(offered, None, events, lines, EpsilonGreedy(0.1), as_offered=True)
    try:
        learned = learner.to_bytes()
    finally:
        learner.close()
    with data_file(encoded(events, lines)) as path:
        frozen, as_offered = VWModel.run(path, offered, learn=False)
        frozen.close()
        progressive, scores = VWModel.run(path, offered)
        progressive.close()
    assert judged.log.predicted.tolist() == as_offered.values.tolist() != scores.values.tolist()
    assert learned != offered  # the learner learned the events all the same
    with pytest.raises(ValueError, match="only a saved learner"):
        score_and_learn(LearningSettings(), None, events, lines, EpsilonGreedy(0.1), as_offered=True)
