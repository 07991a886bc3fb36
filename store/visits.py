"""How a visitor's decision is kept, on every backend: compare and swap until one is."""

from __future__ import annotations

from collections.abc import Callable

from policy.records import Decision
from store.records import Visit


def keep(
    decision: Decision,
    replacing: Visit | None,
    swap: Callable[[Visit | None], bool],
    read: Callable[[], Visit | None],
) -> Decision:
    """The decision kept for a visitor. ``swap(replaced)`` stores ``decision`` in place of the
    visit ``replaced`` (None: where there is none) only if that is still the one stored, and
    says whether it did; when another worker's got in first, ``read()`` gives the visit stored
    now: a live one is the answer, an expired one is replaced in turn."""
    while not swap(replacing):
        current = read()
        if current is not None and current.until > decision.ts:
            return current.decision
        replacing = current
    return decision
