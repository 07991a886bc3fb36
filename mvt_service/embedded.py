"""The embedded store: an in-process mongomock client behind the same code path as MongoDB.

Two differences from MongoDB are mended here, once per process (tests/unit/test_embedded.py
checks both):

- **Atomic writes.** MongoDB applies each single-document write atomically, so a conditional
  update (``find_one_and_update`` on ``{_id, revision}``) succeeds for one of several concurrent
  callers; mongomock reads and then writes without a lock, so several succeed. Every mongomock
  write method runs under one process-wide lock.
- **Lookups by ``_id``.** mongomock scans every document for every query; a query whose
  ``_id`` is a value or an ``$in`` list (how the store finds a batch's decisions) reads those
  documents from its dict instead, as MongoDB's ``_id`` index would. The other conditions of the
  filter still apply; the order is that of the ids (MongoDB promises none without a sort).
- **Linear cursors.** mongomock 4.x re-slices a cursor's whole result list on every ``next()``
  (``Cursor._compute_results(with_limit_and_skip=True)``), so reading n documents costs O(n²):
  100k decisions take minutes. ``Cursor.__next__`` is replaced with an equivalent that indexes
  into the cached results; the results, skip and limit semantics are unchanged.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

import mongomock
from mongomock.collection import Collection, Cursor
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
            return method(*args, **kwargs)

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
        found = [store._documents[i] for i in ids if i in store._documents]
    return (doc for doc in found if filter_applies(filter, doc))  # type: ignore[no-untyped-call]


def _mend() -> None:
    Collection._iter_documents = _iter_documents  # type: ignore[method-assign]
    Cursor.__next__ = _next  # type: ignore[method-assign]
    Cursor.next = _next
    for name in WRITES:
        method = getattr(Collection, name)
        if not getattr(method, "__mvt_atomic__", False):
            setattr(Collection, name, _atomic(method))


def embedded_client() -> mongomock.MongoClient[Any]:
    """A new timezone-aware mongomock client, with atomic writes and linear-time cursors."""
    _mend()
    return mongomock.MongoClient(tz_aware=True)
