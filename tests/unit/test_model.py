"""The VW model wrapper: learning moves scores, bytes round-trip, bad bytes are refused."""

from __future__ import annotations

import random

import pytest

from policy.features import arm_line, context_line
from policy.learning import CB_TYPES, LearningSettings
from policy.model import VWModel, reward_cost

ARMS = [arm_line("a", {"color": "red"}), arm_line("b", {"color": "blue"})]


def trained(seed: int = 0) -> VWModel:
    """A model taught that mobile visitors reward arm b and desktop visitors arm a."""
    model = VWModel.new(seed=seed)
    for _ in range(200):
        model.learn(context_line({"device": "mobile"}), ARMS, 1, 0.5, 1.0)
        model.learn(context_line({"device": "mobile"}), ARMS, 0, 0.5, 0.0)
        model.learn(context_line({"device": "desktop"}), ARMS, 0, 0.5, 1.0)
        model.learn(context_line({"device": "desktop"}), ARMS, 1, 0.5, 0.0)
    return model


def test_reward_cost_flips_the_sign() -> None:
    assert reward_cost(2.5) == -2.5
    assert reward_cost(reward_cost(0.7)) == 0.7


def test_untrained_model_ties() -> None:
    model = VWModel.new()
    try:
        assert model.score(context_line({"device": "mobile"}), ARMS) == [0.0, 0.0]
    finally:
        model.close()


def test_learning_ranks_the_rewarded_arm_first_per_context() -> None:
    model = trained()
    try:
        mobile = model.score(context_line({"device": "mobile"}), ARMS)
        desktop = model.score(context_line({"device": "desktop"}), ARMS)
        assert mobile[1] > mobile[0]
        assert desktop[0] > desktop[1]
        assert mobile[1] == pytest.approx(1.0, abs=0.1)
    finally:
        model.close()


@pytest.mark.parametrize("cb_type", CB_TYPES)
def test_scores_are_what_pyvw_predicts(cb_type: str) -> None:
    """:meth:`VWModel.score` calls VW's native binding directly; it must answer what pyvw's own
    ``predict`` answers, for any context, any arms in any order, before and after learning."""
    rng = random.Random(7)
    arms = [arm_line(f"arm{i}", {"hero": rng.choice("xyz"), "n": i}) for i in range(12)]
    model = VWModel.new(LearningSettings(cb_type=cb_type))
    try:
        for step in range(300):
            context = context_line({"device": rng.choice(["mobile", "desktop", "a|b:c"]), "visits": rng.randint(0, 9)})
            shown = rng.sample(arms, rng.randint(1, len(arms)))
            assert model.score(context, shown) == [reward_cost(c) for c in model._vw.predict([context, *shown])]
            if step % 3 == 0:
                model.learn(context, shown, rng.randrange(len(shown)), 1 / len(shown), rng.random())
    finally:
        model.close()


def test_bytes_round_trip_gives_identical_scores() -> None:
    model = trained()
    loaded = VWModel.from_bytes(model.to_bytes())
    try:
        for device in ("mobile", "desktop", "tablet"):
            line = context_line({"device": device})
            assert loaded.score(line, ARMS) == model.score(line, ARMS)
    finally:
        model.close()
        loaded.close()


def test_same_data_and_seed_give_the_same_model() -> None:
    a, b = trained(seed=3), trained(seed=3)
    try:
        assert a.to_bytes() == b.to_bytes()
    finally:
        a.close()
        b.close()


def test_unseen_features_and_arms_score_without_error() -> None:
    model = trained()
    try:
        scores = model.score(context_line({"browser": "firefox", "age": 41}), [arm_line("new", {"shape": "round"})])
        assert len(scores) == 1
    finally:
        model.close()


@pytest.mark.parametrize("data", [b"", b"not a model at all" * 10])
def test_unloadable_bytes_raise_value_error(data: bytes) -> None:
    with pytest.raises(ValueError, match="not a loadable VW model"):
        VWModel.from_bytes(data)


def test_close_is_idempotent() -> None:
    model = VWModel.new()
    model.close()
    model.close()
