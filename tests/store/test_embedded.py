"""The embedded client's fixes return exactly what mongomock's own code returns."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta, timezone

import mongomock
import pytest
from bson import Int64, ObjectId
from hypothesis import given
from hypothesis import strategies as st

from store.mongo import mongomock_client as embedded
from store.mongo.mongomock_client import embedded_client


@pytest.mark.parametrize(
    "query",
    [
        lambda c: c.find(),
        lambda c: c.find({"n": {"$gte": 10}}).sort("n", -1),
        lambda c: c.find().sort("n").skip(5),
        lambda c: c.find().sort("n").limit(7),
        lambda c: c.find().sort("n").skip(95).limit(10),
        lambda c: c.find().sort("n").limit(-3),
        lambda c: c.find({"n": {"$gt": 1000}}),
        lambda c: c.aggregate([{"$match": {"n": {"$lt": 30}}}, {"$sort": {"n": -1}}]),
        lambda c: c.find({"_id": 7}),
        lambda c: c.find({"_id": {"$in": [9, 3, 3, 1000, 4]}}).sort("n"),
        lambda c: c.find({"_id": {"$in": [9, 3, 4]}, "k": 0}).sort("n"),
        lambda c: c.find({"_id": {"$in": []}}),
        lambda c: c.find({"_id": {"$gte": 95}}).sort("n"),
        lambda c: [c.count_documents({"_id": {"$in": list(range(50))}, "k": 1})],
    ],
)
def test_results_match_the_original_cursor(query, monkeypatch) -> None:
    collection = embedded_client()["db"]["c"]
    collection.insert_many([{"_id": i, "n": i, "k": i % 3} for i in range(100)])
    fixed = list(query(collection))
    monkeypatch.setattr(mongomock.collection.Cursor, "__next__", embedded._original_next)
    monkeypatch.setattr(mongomock.collection.Cursor, "next", embedded._original_next)
    monkeypatch.setattr(mongomock.collection.Collection, "_iter_documents", embedded._original_iter_documents)
    assert fixed == list(query(collection))


def _typed(value):
    """``value`` with the type of every part beside it (equality alone takes 1 == 1.0 == True);
    a ``bson.Int64`` counts as the ``int`` it is."""
    if isinstance(value, dict):
        return type(value), [(k, _typed(v)) for k, v in value.items()]
    if isinstance(value, list | tuple):
        return type(value), [_typed(v) for v in value]
    return (int if isinstance(value, Int64) else type(value)), value


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.text(),
    st.binary(max_size=8),
    st.builds(ObjectId),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(9000, 1, 1)),
    st.datetimes(
        min_value=datetime(1900, 1, 1),
        max_value=datetime(9000, 1, 1),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5, minutes=-30))]),
    ),
)
KEYS = st.text(max_size=3).filter(lambda k: "\0" not in k and not k.startswith("$"))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(KEYS, inner, max_size=4),
    ),
    max_leaves=20,
)
DOCUMENTS = st.dictionaries(KEYS.filter(lambda k: k != "_id"), VALUES, max_size=5)


def _both(monkeypatch: pytest.MonkeyPatch, write) -> tuple[object, object]:
    """What ``write(collection)`` returns (or raises) on the embedded store, and with mongomock's
    own insert; each on a fresh collection."""
    answers = []
    for original in (False, True):
        collection = embedded_client()["db"]["c"]  # (which mends mongomock again)
        with monkeypatch.context() as patch:
            if original:
                patch.setattr(mongomock.collection.Collection, "_insert", embedded._original_insert)
            try:
                answers.append(write(collection))
            except Exception as exc:  # the same error, or the test fails
                answers.append((type(exc), str(exc), getattr(exc, "details", None)))
    return answers[0], answers[1]


@given(DOCUMENTS, st.one_of(st.none(), st.text(min_size=1), st.integers(-5, 5)))
def test_an_inserted_document_reads_back_as_mongomock_stores_it(document, key) -> None:
    def write(collection):
        doc = dict(document) if key is None else {"_id": key, **document}
        collection.insert_one(doc)
        return _typed([(k, v) for k, v in doc.items() if k != "_id"]), _typed(collection.find_one({}, {"_id": 0}))

    with pytest.MonkeyPatch.context() as monkeypatch:
        fast, original = _both(monkeypatch, write)
    assert fast == original


@pytest.mark.parametrize(
    "documents",
    [
        [{"_id": 1}, {"_id": 2}, {"_id": 1, "again": True}, {"_id": 3}],
        [{"$set": 1}],
        [{"k": {1, 2}}],
        [{"k\0": 1}],
        [{1: "not a string key"}],
        [{"_id": {"sub": "document"}}, {"_id": {"sub": "document"}}],
        [{"n": 2**64}],
    ],
)
@pytest.mark.parametrize("ordered", [True, False])
def test_what_an_insert_refuses_it_refuses_as_mongomock(documents, ordered, monkeypatch) -> None:
    def write(collection):
        result = collection.insert_many([dict(d) for d in documents], ordered=ordered)
        return result.inserted_ids, sorted(map(str, collection.find()))

    fast, original = _both(monkeypatch, write)
    assert fast == original


def test_what_a_write_stored_is_frozen_out_of_the_collector() -> None:
    collection = embedded_client()["db"]["c"]
    frozen = gc.get_freeze_count()
    collection.insert_many([{"_id": i, "pmf": [0.5, 0.5]} for i in range(100)])
    assert gc.get_freeze_count() >= frozen + 100
    gc.unfreeze()


def test_an_insert_fills_in_the_callers_id() -> None:
    collection = embedded_client()["db"]["c"]
    doc = {"n": 1}
    inserted = collection.insert_one(doc).inserted_id
    assert doc["_id"] == inserted and collection.find_one({"_id": inserted}) == doc


def test_an_update_by_id_changes_the_stored_document() -> None:
    collection = embedded_client()["db"]["c"]
    collection.insert_many([{"_id": i, "n": i} for i in range(5)])
    collection.update_many({"_id": {"$in": [1, 3]}}, {"$set": {"n": -1}})
    assert [d["n"] for d in collection.find().sort("_id")] == [0, -1, 2, -1, 4]


def test_a_cursor_can_be_read_in_parts() -> None:
    collection = embedded_client()["db"]["c"]
    collection.insert_many([{"n": i} for i in range(10)])
    cursor = collection.find().sort("n")
    first = [next(cursor)["n"] for _ in range(3)]
    assert first + [d["n"] for d in cursor] == list(range(10))


def test_the_embedded_store_cannot_expire_a_document_whose_id_is_a_sub_document() -> None:
    """A difference from MongoDB, which can: the embedded store's TTL removal fails on such a
    document, so the store's ``_id``s are strings (a visit's joins the experiment and visitor)."""
    collection = embedded_client()["mvt"]["ids"]
    collection.create_index([("until", 1)], expireAfterSeconds=0)
    collection.insert_one({"_id": {"experiment": "e", "visitor": "v"}, "until": datetime(2020, 1, 1, tzinfo=UTC)})
    with pytest.raises(TypeError, match="unhashable"):
        collection.find_one({})
