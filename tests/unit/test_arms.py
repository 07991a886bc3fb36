"""Arms from factors: combinations, exclusions, and the errors that keep ids unambiguous."""

from __future__ import annotations

import pytest

from policy.arms import MAX_ARMS, Arm, expand_factors


def test_factors_expand_to_every_combination_in_declaration_order() -> None:
    arms = expand_factors({"hero": ["big", "small"], "cta": ["green", "blue"]})
    assert [a.id for a in arms] == [
        "hero=big,cta=green",
        "hero=big,cta=blue",
        "hero=small,cta=green",
        "hero=small,cta=blue",
    ]
    assert dict(arms[1].features) == {"hero": "big", "cta": "blue"}


def test_partial_exclusions_remove_every_matching_combination() -> None:
    arms = expand_factors(
        {"hero": ["big", "small"], "cta": ["green", "blue"], "headline": ["a", "b"]},
        exclude=[{"hero": "small", "cta": "blue"}, {"hero": "big", "cta": "green", "headline": "b"}],
    )
    ids = {a.id for a in arms}
    assert len(arms) == 8 - 2 - 1
    assert not any(i.startswith("hero=small,cta=blue") for i in ids)
    assert "hero=big,cta=green,headline=b" not in ids


@pytest.mark.parametrize(
    ("factors", "exclude", "message"),
    [
        ({}, [], "at least one factor"),
        ({"hero": []}, [], "at least one level"),
        ({"hero": ["big", "big"]}, [], "a level twice"),
        ({"hero": ["a=b"]}, [], "neither '=' nor ','"),
        ({"he,ro": ["a"]}, [], "neither '=' nor ','"),
        ({"hero": ["big"]}, [{"cta": "blue"}], "unknown factor `cta`"),
        ({"hero": ["big"]}, [{"hero": "tiny"}], "unknown level `tiny`"),
        ({"hero": ["big"]}, [{}], "at least one factor"),
        ({"hero": ["big"]}, [{"hero": "big"}], "no arm is left"),
        ({f"f{i}": ["a", "b"] for i in range(11)}, [], f"at most {MAX_ARMS} arms"),
        ({"arm": ["x"]}, [], "`arm` is reserved"),
    ],
)
def test_invalid_factors_are_rejected(factors: dict, exclude: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        expand_factors(factors, exclude)


def test_arm_features_are_read_only_copies() -> None:
    features = {"color": "red"}
    arm = Arm("a", features)
    features["color"] = "blue"
    assert arm.features["color"] == "red"
    with pytest.raises(TypeError):
        arm.features["color"] = "green"
