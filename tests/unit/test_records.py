"""Each record is defined once (policy/records.py); the spool's lines and the HTTP answers follow
its fields (the store's documents: tests/store/test_mongo.py)."""

from __future__ import annotations

from dataclasses import fields

import pytest
from pydantic import BaseModel

from mvt_service.log_writer import from_json, to_json
from mvt_service.schemas import CycleOut, DecisionOut, PolicyOut
from policy.records import Decision, PolicyRecord
from tests import factories
from trainer.cycle import CycleSummary


def names(record: type) -> set[str]:
    return {f.name for f in fields(record)}


@pytest.mark.parametrize(
    ("schema", "record", "left_out"),
    [
        (PolicyOut, PolicyRecord, set()),
        (CycleOut, CycleSummary, set()),
        # a decision's answer leaves out what the page has no use for
        (
            DecisionOut,
            Decision,
            {"ts", "context", "actions", "pmf", "epsilon", "deferred", "group", "candidate_version"},
        ),
    ],
)
def test_http_answers_carry_the_record_fields(schema: type[BaseModel], record: type, left_out: set[str]) -> None:
    assert set(schema.model_fields) == names(record) - left_out


def test_spool_lines_round_trip_every_field() -> None:
    decision = factories.decision(context={"utm.source": "x", "$weird": 1}, candidate_version=3)
    reward = factories.reward("e1", "order", 2.5)
    assert from_json(to_json(decision)) == decision and from_json(to_json(reward)) == reward
