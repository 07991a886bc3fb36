"""Records as MongoDB documents and back: the one encoder and decoder of each record.

User-supplied mappings (contexts, arm features, factors) are stored as ``[name, value]`` pairs,
never as document keys, so names containing ``.`` or starting with ``$`` are stored faithfully.
A record's other fields are its dataclass fields, under their own names (:func:`document`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import orjson

from policy.records import (
    Decision,
    PolicyRecord,
    Reward,
    check_decision,
    check_reward,
    record_of,
    record_values,
)
from store.codec import mapping, pairs, reader
from store.records import AuditEntry, ExperimentPatch, Lease

R = TypeVar("R")


def document(record: Any, key: str | None = None, **encoded: Any) -> dict[str, Any]:
    """A record's fields as a document: the field ``key`` becomes ``_id``, and ``encoded``
    replaces the fields that a document cannot hold as they are (mappings with user-chosen
    names become pairs)."""
    doc = record_values(record)
    if key is not None:
        doc["_id"] = doc.pop(key)
    doc.update(encoded)
    return doc


def record(cls: type[R], doc: Mapping[str, Any], key: str | None = None, **decoded: Any) -> R:
    """The record of a document, inverse of :func:`document` (:func:`policy.records.record_of`:
    fields an older document lacks take their defaults, its other fields are ignored)."""
    values = dict(doc)
    if key is not None:
        values[key] = doc["_id"]
    values.update(decoded)
    return record_of(cls, values)


# experiments -------------------------------------------------------------------------------


def patch_fields(patch: ExperimentPatch) -> dict[str, Any]:
    """The field paths a patch sets."""
    paths = {
        "exploration.epsilon": patch.epsilon,
        "exploration.candidate_share": patch.candidate_share,
        "holdout": patch.holdout,
        "paused": patch.paused,
    }
    return {path: value for path, value in paths.items() if value is not None}


# events ------------------------------------------------------------------------------------


def decision_doc(d: Decision) -> dict[str, Any]:
    return document(d, "event_id", context=pairs(d.context))


def decision(doc: Mapping[str, Any]) -> Decision:
    return record(Decision, doc, "event_id", context=mapping(doc["context"]))


def reward_key(event_id: str, reward_id: str) -> str:
    """A reward event's ``_id``: its idempotency key (neither id may contain a space, and a
    space sorts first, so ``_id`` order is ``(event_id, reward_id)`` order)."""
    return f"{event_id} {reward_id}"


def reward_doc(r: Reward) -> dict[str, Any]:
    return document(r, _id=reward_key(r.event_id, r.reward_id))


def reward(doc: Mapping[str, Any]) -> Reward:
    return record(Reward, doc)


def _check_matched_reward(r: Reward) -> None:
    check_reward(r)
    if r.decision_ts is None:
        raise ValueError("the reward was never matched to its decision")


read_decision = reader(decision, check_decision, lambda doc: str(doc.get("_id")))
read_reward = reader(reward, _check_matched_reward, lambda doc: str(doc.get("_id")))


def visit_id(experiment_id: str, visitor: str) -> str:
    """A visit's ``_id``: experiment ids hold no ``/``, so the first one ends it. (A string: the
    embedded store's TTL removal fails on a sub-document ``_id``; MongoDB's does not.)"""
    return f"{experiment_id}/{visitor}"


# policies, reports, audit, leases ----------------------------------------------------------


def policy_doc(p: PolicyRecord) -> dict[str, Any]:
    return document(
        p, learning=dict(p.learning), join=dict(p.join), metrics=None if p.metrics is None else dict(p.metrics)
    )


def policy(doc: Mapping[str, Any]) -> PolicyRecord:
    return record(PolicyRecord, doc)


def audit_doc(entry: AuditEntry) -> dict[str, Any]:
    """An audit entry's document; the two states are kept as JSON text, since user-chosen names
    inside them are not safe as document keys."""
    return document(entry, before=orjson.dumps(entry.before).decode(), after=orjson.dumps(entry.after).decode())


def audit_entry(doc: Mapping[str, Any]) -> AuditEntry:
    return record(AuditEntry, doc, before=orjson.loads(doc["before"]), after=orjson.loads(doc["after"]))


def lease(doc: Mapping[str, Any]) -> Lease:
    return record(Lease, doc, "name", last_finished=doc.get("last_finished"))
