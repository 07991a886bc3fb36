"""Each record is defined once (policy/records.py); the store's documents, the spool's lines and
the HTTP answers follow its fields."""

from __future__ import annotations

from dataclasses import fields

import pytest
from pydantic import BaseModel

from mvt_service.log_writer import from_json, to_json
from mvt_service.schemas import CycleOut, DecisionOut, PolicyOut
from mvt_service.store import _decision, _decision_doc, _policy, _policy_doc, _reward, _reward_doc
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


def test_documents_and_spool_lines_round_trip_every_field() -> None:
    decision = factories.decision(context={"utm.source": "x", "$weird": 1}, candidate_version=3)
    reward = factories.reward("e1", "order", 2.5)
    policy = factories.policy_record()
    assert _decision(_decision_doc(decision)) == decision
    assert _reward(_reward_doc(reward)) == reward
    assert _policy(_policy_doc(policy)) == policy
    assert from_json(to_json(decision)) == decision and from_json(to_json(reward)) == reward
    assert set(_decision_doc(decision)) == names(Decision) - {"event_id"} | {"_id"}


def test_an_older_document_without_a_newer_field_reads_with_its_default() -> None:
    doc = _decision_doc(factories.decision())
    del doc["group"]
    assert _decision(doc).group == "bandit"
