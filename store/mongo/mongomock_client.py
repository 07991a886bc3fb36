"""The embedded store: an in-process mongomock client behind the same code path as MongoDB.

What differs from MongoDB, or costs far more than on MongoDB, is mended here, once per process
(tests/store/test_embedded.py checks each against mongomock's own code):

- **Atomic writes.** MongoDB applies each single-document write atomically, so a conditional
  update (``find_one_and_update`` on ``{_id, revision}``) succeeds for one of several concurrent
  callers; mongomock reads and then writes without a lock, so several succeed. Every mongomock
  write method runs under one process-wide lock.
- **Stored documents out of the collector.** The embedded store keeps its documents in the
  interpreter's heap, so with every write the collector's generations grew by what was stored,
  and its collections had ever more to look at: a collection of the middle generation paused the
  process for 416 ms in a benchmark, and the decision p99 at half load was 277 ms. After each
  write, what is alive is frozen (``gc.freeze()``: constant time) and no collection looks at it
  again; reference counting still frees what is deleted or replaced. (A reference cycle alive at
  that moment is never collected; the service's request path makes almost none: collections
  during the benchmark found 0 to 15 objects to free. The app unfreezes everything when it
  stops.)
- **Lookups by ``_id``.** mongomock scans every document for every query; a query whose
  ``_id`` is a value or an ``$in`` list (how the store finds a batch's decisions) reads those
  documents from its dict instead, as MongoDB's ``_id`` index would. The other conditions of the
  filter still apply; the order is that of the ids (MongoDB promises none without a sort). (Each
  document is then checked against its own id only: against the whole list, finding a batch of
  500 rewards' decisions compared 250,000 pairs, half of what storing rewards cost.)
- **Inserts copied by BSON.** mongomock validates a document it inserts by encoding it to BSON,
  then copies it value by value in Python (five ``isinstance`` checks on every value, every
  float of a decision's probabilities included): 72 µs of Python for a decision. A document is
  now copied by decoding the BSON it was encoded to (pymongo's C codec: 30 µs for the whole
  insert), which stores what MongoDB would store and reads back what pymongo would read: times
  in UTC to the millisecond, tuples as lists, and an integer beyond 32 bits as ``bson.Int64``
  (an ``int``; mongomock kept ``int``). The checks are mongomock's: keys are strings, no
  top-level key starts with ``$``, no key holds a null character, the document encodes, and
  its ``_id`` is new (a ``DuplicateKeyError`` otherwise). A collection with a unique index, a
  sub-document ``_id`` or a session go mongomock's way.
- **Linear cursors.** mongomock 4.x re-slices a cursor's whole result list on every ``next()``
  (``Cursor._compute_results(with_limit_and_skip=True)``), so reading n documents costs O(n²):
  100k decisions take minutes. ``Cursor.__next__`` is replaced with an equivalent that indexes
  into the cached results; the results, skip and limit semantics are unchanged.
"""

from __future__ import annotations

import functools
import gc
import threading
from collections.abc import Callable
from typing import Any

import bson
import mongomock
from bson import ObjectId
from mongomock import DuplicateKeyError
from mongomock.collection import Collection, Cursor, _validate_data_fields
from mongomock.filtering import filter_applies

_original_next = Cursor.__next__


def _next(self: Cursor) -> Any:
    results = self._compute_results()  # type: ignore[no-untyped-call]  # cached for the cursor's lifetime
    position = self._skip + self._emitted
    if (self._limit and self._emitted >= abs(self._limit)) or position >= len(results):
        raise StopIteration
    self._emitted += 1
    return results[position]


WRITES = (
    "insert_one",
    "insert_many",
    "update_one",
    "update_many",
    "replace_one",
    "delete_one",
    "delete_many",
    "find_one_and_update",
    "find_one_and_replace",
    "find_one_and_delete",
    "bulk_write",
)
_write_lock = threading.RLock()


def _atomic(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _write_lock:
            try:
                return method(*args, **kwargs)
            finally:
                gc.freeze()

    locked.__mvt_atomic__ = True  # type: ignore[attr-defined]
    return locked


_original_iter_documents = Collection._iter_documents


def _ids_of(filter: Any) -> list[Any] | None:
    """The ``_id`` values a filter is restricted to, if it names them plainly."""
    if not isinstance(filter, dict) or "_id" not in filter:
        return None
    wanted = filter["_id"]
    if isinstance(wanted, dict):
        if list(wanted) == ["$in"] and isinstance(wanted["$in"], (list, tuple)):
            return list(dict.fromkeys(v for v in wanted["$in"] if not isinstance(v, (dict, list))))
        return None
    return None if isinstance(wanted, list) else [wanted]


def _iter_documents(self: Collection, filter: Any) -> Any:
    ids = _ids_of(filter)
    if ids is None:
        return _original_iter_documents(self, filter)  # type: ignore[no-untyped-call]
    store = self._store
    with store._rwlock.reader():
        found = [(i, store._documents[i]) for i in ids if i in store._documents]
    # a document read by the id ``i`` is checked against ``_id: i``, not the whole ``$in`` list:
    # the same answer, without comparing each of n documents with n ids
    return (doc for i, doc in found if filter_applies({**filter, "_id": i}, doc))  # type: ignore[no-untyped-call]


_original_insert = Collection._insert


def _insert(self: Collection, data: Any, session: Any = None, ordered: bool = True) -> Any:
    """``Collection._insert``, with one document copied by a BSON round trip (see the module);
    a list of documents, a session, a sub-document ``_id`` or a collection with a unique index
    goes to the original (which comes back here for each document of a list)."""
    if session is not None or type(data) is not dict or isinstance(data.get("_id"), dict) or _has_unique(self):
        return _original_insert(self, data, session, ordered)  # type: ignore[no-untyped-call]
    if not all(isinstance(k, str) for k in data):
        raise ValueError("Document keys must be strings")
    _validate_data_fields(data)  # type: ignore[no-untyped-call]
    encoded = bson.encode(data)  # what cannot be encoded is refused, as by MongoDB
    if "_id" not in data:
        data["_id"] = ObjectId()  # filled in the caller's document, as pymongo does
    object_id = data["_id"]
    if object_id in self._store:
        raise DuplicateKeyError("E11000 Duplicate Key Error", 11000)
    stored = bson.decode(encoded)
    stored.setdefault("_id", object_id)
    self._store[object_id] = stored
    return object_id


def _has_unique(collection: Collection) -> bool:
    return any(index.get("unique") for index in collection._store.indexes.values())


def _mend() -> None:
    Collection._insert = _insert  # type: ignore[method-assign]
    Collection._iter_documents = _iter_documents  # type: ignore[method-assign]
    Cursor.__next__ = _next  # type: ignore[method-assign]
    Cursor.next = _next
    for name in WRITES:
        method = getattr(Collection, name)
        if not getattr(method, "__mvt_atomic__", False):
            setattr(Collection, name, _atomic(method))


def embedded_client() -> mongomock.MongoClient[Any]:
    """A new timezone-aware mongomock client, mended as the module says."""
    _mend()
    return mongomock.MongoClient(tz_aware=True)
