"""What only the MongoDB backend has: its documents, indexes and TTL retention, its driver's
errors as the store layer's, and the rule that no other module imports the driver."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pymongo.errors import AutoReconnect, OperationFailure

from policy.records import Decision
from store import mongo
from store.errors import StoreError, StoreUnavailable
from store.mongo import documents
from store.records import Sweep
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
DRIVERS = {"pymongo", "bson", "mongomock"}


@pytest.fixture
def backend() -> Iterator[mongo.MongoBackend]:
    backend = mongo.embedded("mvt_test")
    backend.ensure_schema()
    yield backend
    backend.close()


def test_only_the_mongodb_backend_imports_the_driver() -> None:
    offenders = []
    for path in sorted(ROOT.glob("**/*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in {".venv", "build"} or relative.parts[:2] == ("store", "mongo"):
            continue
        if relative == Path("tests/store/test_mongo.py") or relative == Path("tests/store/test_embedded.py"):
            continue  # the backend's own tests
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            offenders += [f"{relative}: {n}" for n in names if n.split(".")[0] in DRIVERS]
    assert offenders == []


def test_indexes_serve_the_range_reads(backend: mongo.MongoBackend) -> None:
    backend.ensure_schema()  # idempotent
    db = backend.db
    assert "experiment_1_decision_ts_1__id_1" in set(db["rewards"].index_information())
    assert "experiment_1_decision_ts_1__id_1" in set(db["activations"].index_information())
    assert "experiment_1_ts_1__id_1" in set(db["decisions"].index_information())
    assert "expires_at_1" in set(db["pending"].index_information())
    assert db["policies"].index_information()["experiment_1_version_1"]["unique"]


def test_retention_is_a_ttl_index_that_follows_the_setting(backend: mongo.MongoBackend) -> None:
    def ttl(name: str) -> int | None:
        found = backend.db[name].index_information().get("retention_ts", {}).get("expireAfterSeconds")
        return None if found is None else int(found)

    backend.ensure_schema(retention_days=90)
    assert [ttl(c) for c in ("decisions", "rewards", "activations")] == [90 * 86_400] * 3
    backend.ensure_schema(retention_days=30)  # changed: the index is replaced
    assert ttl("decisions") == 30 * 86_400
    backend.ensure_schema()  # unset: data is kept again
    assert ttl("decisions") is None and ttl("rewards") is None


def test_records_round_trip_every_field_and_names_are_never_keys() -> None:
    decision = factories.decision(context={"utm.source": "x", "$weird": 1}, candidate_version=3)
    reward = factories.reward("e1", "order", 2.5)
    policy = factories.policy_record()
    assert documents.decision(documents.decision_doc(decision)) == decision
    assert documents.reward(documents.reward_doc(reward)) == reward
    assert documents.policy(documents.policy_doc(policy)) == policy
    assert set(documents.decision_doc(decision)) == set(Decision.__dataclass_fields__) - {"event_id"} | {"_id"}
    assert documents.decision_doc(decision)["context"] == [["utm.source", "x"], ["$weird", 1]]


def test_an_older_document_without_a_newer_field_reads_with_its_default() -> None:
    doc = documents.decision_doc(factories.decision())
    del doc["group"]
    assert documents.decision(doc).group == "bandit"


def test_a_decision_written_by_another_worker_after_its_reward_waited_is_swept_up(
    backend: mongo.MongoBackend,
) -> None:
    t0 = factories.T0
    store = backend.store(pending_seconds=600)
    store.events.insert_rewards([factories.reward("raced", "default", 2.0, t0)])
    # its decision is written just after the reward missed it (as by another worker, with no adoption)
    backend.db["decisions"].insert_one(documents.decision_doc(factories.decision(event_id="raced", ts=t0)))
    assert store.events.sweep(t0) == Sweep(1, {"reward": 0, "activation": 0}, 0)
    assert [r.event_id for r in store.events.rewards_between("exp", None, t0 + timedelta(hours=1))] == ["raced"]


class Failing:
    """A collection whose every call fails with ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __getattr__(self, name: str) -> Any:
        def fail(*args: object, **kwargs: object) -> Any:
            raise self.error

        return fail


def test_an_outage_is_store_unavailable_and_a_refusal_a_store_error(backend: mongo.MongoBackend) -> None:
    events: Any = backend.store().events
    events._decisions = Failing(AutoReconnect("connection lost"))
    with pytest.raises(StoreUnavailable, match="AutoReconnect: connection lost") as raised:
        events.insert_decisions([factories.decision()])
    assert isinstance(raised.value.__cause__, AutoReconnect)
    events._decisions = Failing(OperationFailure("not authorized", 13))
    with pytest.raises(StoreError) as refused:
        events.get_decision("e1")
    assert type(refused.value) is StoreError


def test_an_outage_while_a_range_is_read_is_store_unavailable(backend: mongo.MongoBackend) -> None:
    store = backend.store()
    store.events.insert_decisions([factories.decision(event_id=f"e{i}") for i in range(3)])

    class Cursor:
        def sort(self, *args: object) -> Iterator[dict[str, Any]]:
            yield documents.decision_doc(factories.decision(event_id="e0"))
            raise AutoReconnect("primary stepped down")

    events: Any = store.events
    events._decisions = type("Decisions", (), {"find": lambda self, *a, **k: Cursor()})()
    read = store.events.decisions_between("exp", None, factories.T0 + timedelta(hours=1))
    assert next(read).event_id == "e0"
    with pytest.raises(StoreUnavailable):
        next(read)
