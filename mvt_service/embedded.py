"""The embedded store: an in-process mongomock client behind the same code path as MongoDB.

mongomock 4.x re-slices a cursor's whole result list on every ``next()``
(``Cursor._compute_results(with_limit_and_skip=True)``), so reading n documents costs O(n²):
100k decisions take minutes. :func:`embedded_client` replaces that one method with an
equivalent that indexes into the cached results, once per process; the results, skip and limit
semantics are unchanged (tests/unit/test_embedded.py checks them against the original).
"""

from __future__ import annotations

from typing import Any

import mongomock
from mongomock.collection import Cursor

_original_next = Cursor.__next__


def _next(self: Cursor) -> Any:
    results = self._compute_results()  # type: ignore[no-untyped-call]  # cached for the cursor's lifetime
    position = self._skip + self._emitted
    if (self._limit and self._emitted >= abs(self._limit)) or position >= len(results):
        raise StopIteration
    self._emitted += 1
    return results[position]


def embedded_client() -> mongomock.MongoClient[Any]:
    """A new timezone-aware mongomock client, with linear-time cursor iteration."""
    Cursor.__next__ = _next  # type: ignore[method-assign]
    Cursor.next = _next
    return mongomock.MongoClient(tz_aware=True)
