"""The write-behind decision log: batching, retry after failure, drain on close, backpressure."""

from __future__ import annotations

import threading

import pytest

from mvt_service.decision_log import DecisionWriter
from mvt_service.errors import Unavailable
from mvt_service.store import Store
from tests import factories
from tests.helpers import eventually


class FlakyStore:
    """Wraps a store; its first ``failures`` writes raise."""

    def __init__(self, store: Store, failures: int) -> None:
        self.store = store
        self.failures = failures
        self.calls = 0

    def insert_decisions(self, decisions: list) -> int:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError("store down")
        return self.store.insert_decisions(decisions)


def test_queued_decisions_are_written_in_batches(store: Store) -> None:
    writer = DecisionWriter(store, batch_size=10, flush_seconds=0.01, queue_max=1000)
    writer.start()
    try:
        for _ in range(25):
            writer.append(factories.decision())
        eventually(lambda: store.decisions.count_documents({}) == 25)
        assert writer.pending == 0 and writer.written == 25
    finally:
        writer.close()


def test_failed_batches_stay_queued_and_are_written_once_the_store_recovers(store: Store) -> None:
    flaky = FlakyStore(store, failures=3)
    writer = DecisionWriter(flaky, batch_size=5, flush_seconds=0.01, queue_max=1000)  # type: ignore[arg-type]
    writer.start()
    try:
        decisions = [factories.decision() for _ in range(12)]
        for d in decisions:
            writer.append(d)
        eventually(lambda: store.decisions.count_documents({}) == 12)
        assert writer.failures == 3
        assert {d["_id"] for d in store.decisions.find()} == {d.event_id for d in decisions}
    finally:
        writer.close()


def test_close_drains_the_queue(store: Store) -> None:
    writer = DecisionWriter(store, batch_size=1000, flush_seconds=60, queue_max=10_000)
    writer.start()
    for _ in range(7):
        writer.append(factories.decision())
    writer.close()
    assert store.decisions.count_documents({}) == 7


def test_a_full_queue_refuses_new_decisions(store: Store) -> None:
    blocked = threading.Event()

    class BlockedStore:
        def insert_decisions(self, decisions: list) -> int:
            blocked.wait()
            return store.insert_decisions(decisions)

    writer = DecisionWriter(BlockedStore(), batch_size=1, flush_seconds=0.01, queue_max=3)  # type: ignore[arg-type]
    writer.start()
    try:
        writer.append(factories.decision())
        eventually(lambda: writer.pending == 0)  # taken by the blocked writer thread
        for _ in range(3):
            writer.append(factories.decision())
        with pytest.raises(Unavailable, match="decision log is backed up"):
            writer.append(factories.decision())
    finally:
        blocked.set()
        writer.close()
    assert store.decisions.count_documents({}) == 4
