"""The store layer's errors: every backend raises these, never its driver's own."""

from __future__ import annotations


class StoreError(Exception):
    """The store refused an operation (retrying it unchanged does not help)."""


class StoreUnavailable(StoreError):
    """The store cannot serve now (unreachable, electing a primary, timing out): retry later.
    Nothing of a refused write was lost, and writes are idempotent, so a retry is safe."""


class StaleRevision(StoreError):
    """The experiment changed since the revision the caller read (or no longer exists)."""
