"""The JSON-lines log format of `mvt replay estimate`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from replay.evaluation import evaluate
from replay.logfile import LogFileError, read_events


def lines(*events: dict) -> list[str]:
    return [json.dumps(e) for e in events]


def test_hand_computed_estimates() -> None:
    events = read_events(
        lines(
            {"action": "a", "probability": 0.5, "reward": 1.0, "target": {"a": 1.0}},
            {"action": "b", "probability": 0.5, "reward": 0.0, "target": {"a": 1.0}},
            {"action": "a", "probability": 0.5, "reward": 1.0, "target": {"a": 1.0}},
            {"action": "b", "probability": 0.5, "reward": 1.0, "target": {"a": 1.0, "b": 0.0}},
        )
    )
    assert list(events.log.arms) == ["a", "a", "b", "a", "a", "b"]  # target arms plus the logged one
    result = evaluate(events.log, events.target)
    assert result.estimates["ips"].value == pytest.approx(1.0)
    assert result.estimates["snips"].value == pytest.approx(1.0)
    # cross-fitted arm means: evens (a, a) predicted from odds (b: 0, 1) -> a unseen -> 0.5;
    # odds predicted from evens -> a = 1, b unseen -> 1. Terms 1.5, 1.0, 1.5, 1.0.
    assert result.estimates["dr"].value == pytest.approx(1.25)
    assert result.ess == pytest.approx(2.0)


def test_actions_fix_the_eligible_arms_and_their_order() -> None:
    events = read_events(
        lines(
            {
                "action": "c",
                "probability": 0.2,
                "reward": 2.0,
                "target": {"c": 0.4, "a": 0.6},
                "actions": ["c", "b", "a"],
                "context": {"device": "mobile"},
            }
        )
    )
    assert list(events.log.arms) == ["c", "b", "a"]
    assert np.allclose(events.target, [0.4, 0.0, 0.6])


def test_every_invalid_line_is_reported_by_number() -> None:
    with pytest.raises(LogFileError) as error:
        read_events(
            [
                json.dumps({"action": "a", "probability": 0.5, "reward": 1.0, "target": {"a": 1.0}}),
                "{not json",
                json.dumps({"action": "a", "probability": 0.0, "reward": 1.0, "target": {"a": 1.0}}),
                json.dumps({"action": "a", "probability": 0.5, "reward": "NaN", "target": {"a": 1.0}}),
                json.dumps({"action": "a", "probability": 0.5, "reward": 1.0, "target": {"a": 0.5}}),
                "",
                json.dumps({"action": "z", "probability": 0.5, "reward": 1.0, "target": {"a": 1.0}, "actions": ["a"]}),
                json.dumps([1, 2]),
                json.dumps({"action": "a", "probability": 0.5, "reward": 1.0, "target": {"a": 1.0}, "extra": 1}),
            ]
        )
    assert error.value.problems == [
        "line 2: not valid JSON (Expecting property name enclosed in double quotes at column 2)",
        "line 3: `probability` must be in (0, 1]",
        "line 4: `reward` must be a finite number",
        "line 5: `target` probabilities must sum to 1",
        "line 7: `action` and every `target` arm must be in `actions`",
        "line 8: must be a JSON object",
        "line 9: unknown field `extra`",
    ]


def test_a_line_cut_short_names_the_column_where_it_ends() -> None:
    """A file's lines keep their newline: the error is at the end of the line, not at column 1
    of the next one."""
    with pytest.raises(LogFileError) as error:
        read_events(['{"action": "a"\n'])
    assert error.value.problems == ["line 1: not valid JSON (Expecting ',' delimiter at column 15)"]


def test_an_empty_file_is_an_error() -> None:
    with pytest.raises(LogFileError, match="no event"):
        read_events(["", "  "])
