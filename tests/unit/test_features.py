"""Feature encoding: VW syntax characters can neither crash VW nor inject features."""

from __future__ import annotations

import pytest
import vowpalwabbit
from hypothesis import given
from hypothesis import strategies as st

from policy.features import arm_line, context_line, encode_feature, escape


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("device", "mobile", "device=mobile"),
        ("age", 35, "age:35"),
        ("score", 0.25, "score:0.25"),
        ("returning", True, "returning=true"),
        ("returning", False, "returning=false"),
        ("a b", "c|d", "a%20b=c%7Cd"),
        ("x:y", "50%", "x%3Ay=50%25"),
        ("line", "one\ntwo\tthree", "line=one%0Atwo%09three"),
    ],
)
def test_encode_feature(name: str, value: object, expected: str) -> None:
    assert encode_feature(name, value) == expected


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_are_rejected(value: float) -> None:
    with pytest.raises(ValueError, match="`x` must be a finite number"):
        encode_feature("x", value)


def test_lines_are_sorted_by_name() -> None:
    assert context_line({"geo": "DE", "device": "mobile"}) == "shared |U device=mobile geo=DE"
    assert arm_line("b", {"hero": "big"}) == "|A arm=b hero=big"
    assert arm_line("a", {}) == "|A arm=a"


@given(st.text(max_size=40))
def test_escaped_tokens_hold_no_vw_syntax(token: str) -> None:
    escaped = escape(token)
    assert not any(c in escaped for c in "|: \t\n\r\x0b\x0c\u00a0\u2028")


@pytest.fixture
def vw() -> vowpalwabbit.Workspace:
    workspace = vowpalwabbit.Workspace("--cb_adf -q UA --quiet")
    yield workspace
    workspace.finish()


INJECTIONS = [
    "mobile |A arm=evil",
    "mobile |U geo:1000",
    "x y z",
    "a:1e30",
    "line\nshared |U other",
    "tab\there",
    "pipe|colon:space percent%",
    "",
    "\u2028unicode\u3000spaces",
]


@pytest.mark.parametrize("value", INJECTIONS)
def test_hostile_values_give_exactly_one_feature(vw: vowpalwabbit.Workspace, value: str) -> None:
    lines = [context_line({"device": value, value or "empty": "v"}), arm_line(value or "id", {value or "f": value})]
    examples = vw.parse(lines, vowpalwabbit.LabelType.CONTEXTUAL_BANDIT)
    try:
        shared, arm = examples
        assert shared.num_features_in("U") == 2
        assert arm.num_features_in("A") == 2
        assert shared.num_features_in("A") == 0 and arm.num_features_in("U") == 0
    finally:
        vw.finish_example(examples)
    assert len(vw.predict([lines[0], lines[1], arm_line("other", {})])) == 2


@given(st.dictionaries(st.text(min_size=1, max_size=10), st.text(max_size=10), max_size=5))
def test_any_text_context_parses_to_one_feature_per_entry(context: dict[str, str]) -> None:
    vw = vowpalwabbit.Workspace("--cb_adf -q UA --quiet")
    try:
        examples = vw.parse([context_line(context), arm_line("a", {})], vowpalwabbit.LabelType.CONTEXTUAL_BANDIT)
        assert examples[0].num_features_in("U") == len(context)
        vw.finish_example(examples)
    finally:
        vw.finish()
