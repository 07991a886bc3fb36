"""The embedded client's cursor fix returns exactly what mongomock's own cursor returns."""

from __future__ import annotations

from datetime import UTC, datetime

import mongomock
import pytest

from mvt_service import embedded
from mvt_service.embedded import embedded_client


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
