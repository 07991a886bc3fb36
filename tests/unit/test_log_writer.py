"""The write-behind log: batches, the spool when the store fails, replay without duplicates,
crash recovery, drain on close, bounds, and a slow store."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import orjson
import pytest
from prometheus_client import REGISTRY

from mvt_service.errors import Unavailable
from mvt_service.log_writer import LogWriter, from_json, from_line, to_json, to_line
from mvt_service.spool import Quarantine, Spool, read_lines
from store.errors import StoreUnavailable
from store.repositories import EventLog, Store
from tests import factories
from tests.helpers import decisions_of, eventually


class FailingStore:
    """Wraps a store's event log; every write raises as an unavailable store's does while
    ``down`` is set."""

    def __init__(self, store: Store, down: bool = False) -> None:
        self.store = store
        self.down = down

    def _check(self) -> None:
        if self.down:
            raise StoreUnavailable("store down")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store.events, name)

    def insert_decisions(self, decisions: list) -> int:
        self._check()
        return self.store.events.insert_decisions(decisions)

    def insert_rewards(self, rewards: list) -> tuple[int, int]:
        self._check()
        return self.store.events.insert_rewards(rewards)


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@contextlib.contextmanager
def running(
    store: Store | FailingStore, spool_dir: Path, spool_bytes: int = 10_000_000, **kwargs: Any
) -> Iterator[LogWriter]:
    """A started writer on ``store``; closed, which drains it, on exit."""
    if isinstance(store, FailingStore):
        store = replace(store.store, events=cast(EventLog, store))
    options = {"batch_size": 10, "flush_seconds": 0.01, "queue_max": 10_000, **kwargs}
    writer = LogWriter(store, Spool(spool_dir, spool_bytes), Quarantine(spool_dir), **options)
    writer.start()
    try:
        yield writer
    finally:
        writer.close()


def spooled_ids(path: Path) -> list[str]:
    return [from_line(line).event_id for _, line in read_lines(path)]


def quarantined(spool_dir: Path) -> list[dict]:
    """The quarantine's entries (read with the standard library: they may hold lone surrogates)."""
    return [json.loads(line) for p in spool_dir.glob("quarantine-*.jsonl") for _, line in read_lines(p)]


def test_decisions_and_rewards_are_written_in_batches(store: Store, tmp_path: Path) -> None:
    with running(store, tmp_path) as writer:
        decisions = [factories.decision() for _ in range(25)]
        for d in decisions:
            writer.log_decision(d)
        writer.log_rewards([factories.reward(d.event_id) for d in decisions[:5]])
        eventually(lambda: len(decisions_of(store)) == 25 and len(store.events.reward_ids()) == 5)
        assert writer.pending == 0


def test_a_record_survives_the_spool_round_trip() -> None:
    decision = factories.decision(context={"device": "mobile", "visits": 3, "member": True})
    reward = factories.reward("e1", "click", 2.5)
    assert from_json(to_json(decision)) == decision and from_json(to_json(reward)) == reward


def test_while_the_store_is_down_batches_are_spooled_then_replayed_exactly_once(store: Store, tmp_path: Path) -> None:
    failing = FailingStore(store, down=True)
    failures_before = metric("mvt_log_write_failures_total")
    with running(failing, tmp_path) as writer:
        down = [factories.decision() for _ in range(30)]
        for d in down:
            writer.log_decision(d)
        writer.log_rewards([factories.reward(d.event_id) for d in down[:10]])
        writer.log_rewards([factories.reward(d.event_id) for d in down[:3]])  # a repeated post
        eventually(lambda: writer.pending == 0 and writer.spool_bytes > 0)
        assert len(decisions_of(store)) == 0
        assert metric("mvt_log_write_failures_total") > failures_before

        failing.down = False  # the store is back; traffic goes on
        up = [factories.decision() for _ in range(5)]
        for d in up:
            writer.log_decision(d)
        eventually(lambda: len(decisions_of(store)) == 35 and writer.spool_bytes == 0)
    assert {d.event_id for d in decisions_of(store)} == {d.event_id for d in down + up}
    assert len(store.events.reward_ids()) == 10


def test_close_drains_the_queue_to_the_store_or_else_to_the_spool(store: Store, tmp_path: Path) -> None:
    with running(store, tmp_path / "up", batch_size=1000, flush_seconds=60) as writer:
        for _ in range(7):
            writer.log_decision(factories.decision())
    assert len(decisions_of(store)) == 7

    with running(FailingStore(store, down=True), tmp_path / "down", batch_size=1000, flush_seconds=60) as writer:
        decisions = [factories.decision() for _ in range(4)]
        for d in decisions:
            writer.log_decision(d)
    [spooled] = list((tmp_path / "down").glob("spool-*.jsonl"))
    assert spooled_ids(spooled) == [d.event_id for d in decisions]


def test_a_dead_process_spool_is_replayed_at_the_next_start(store: Store, tmp_path: Path) -> None:
    # A process spooled two batches and was killed (kill -9) while appending a third: its file
    # is left unlocked with a torn last line.
    dead = [factories.decision() for _ in range(6)]
    orphan = tmp_path / "spool-4242-deadbeef.jsonl"
    with open(orphan, "wb") as f:
        spool_lines = [orjson.dumps(to_json(d)) + b"\n" for d in dead]
        f.write(b"".join(spool_lines) + spool_lines[0][:25])
    with running(store, tmp_path):
        eventually(lambda: len(decisions_of(store)) == 6 and not orphan.exists())
    assert {d.event_id for d in decisions_of(store)} == {d.event_id for d in dead}
    [torn] = quarantined(tmp_path)  # kept for an operator to read, never retried
    assert torn["record"] == spool_lines[0][:25].decode() and "JSONDecodeError" in torn["error"]


def test_a_live_process_spool_is_left_alone(store: Store, tmp_path: Path) -> None:
    live = Spool(tmp_path, 10_000)
    assert live.append([to_line(factories.decision())])
    with running(store, tmp_path):
        pass  # the writer replays the spools it can lock before anything else, and close() waits for it
    assert live.path.exists() and len(decisions_of(store)) == 0
    live.close()


def test_killed_between_batches_loses_only_what_was_not_yet_spooled(store: Store, tmp_path: Path) -> None:
    """A real ``kill -9``: a child process spools batches while the store is down and is killed
    without any shutdown; the next process replays every batch that was fsync'd."""
    spool_dir = tmp_path / "spool"
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the doomed worker
        os.close(read)
        with running(FailingStore(store, down=True), spool_dir, batch_size=5) as writer:
            for i in range(4):
                for _ in range(5):
                    writer.log_decision(factories.decision(event_id=f"batch{i}-{_}"))
                eventually(lambda: writer.pending == 0)
                os.write(write, b".")  # one more batch is in the spool
            time.sleep(60)  # killed here, before any shutdown
        os._exit(0)
    os.close(write)
    got = b""
    while len(got) < 4:
        got += os.read(read, 4)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    with running(store, spool_dir):
        eventually(lambda: len(decisions_of(store)) == 20)
    assert sorted(d.event_id for d in decisions_of(store))[:5] == [f"batch0-{i}" for i in range(5)]


def test_a_full_queue_drops_decisions_counted_and_refuses_rewards(store: Store, tmp_path: Path) -> None:
    taken, blocked = threading.Event(), threading.Event()

    class BlockedStore(FailingStore):
        def insert_decisions(self, decisions: list) -> int:
            taken.set()
            blocked.wait()
            return store.events.insert_decisions(decisions)

    dropped_before = metric("mvt_log_dropped_total", reason="decision")
    with running(BlockedStore(store), tmp_path, batch_size=1, queue_max=3) as writer:
        try:
            writer.log_decision(factories.decision())
            assert taken.wait(5)  # the blocked writer thread holds it: pending, but not queued
            assert writer.pending == 1
            for _ in range(4):
                writer.log_decision(factories.decision())  # the fourth is answered but not logged
            assert writer.pending == 1 + 3
            assert metric("mvt_log_dropped_total", reason="decision") == dropped_before + 1
            with pytest.raises(Unavailable, match="reward log is backed up"):
                writer.log_rewards([factories.reward("e1")])
        finally:
            blocked.set()
    assert len(decisions_of(store)) == 4


def test_a_full_spool_counts_what_it_lost(store: Store, tmp_path: Path) -> None:
    lost_before = metric("mvt_log_dropped_total", reason="spool_full")
    with running(FailingStore(store, down=True), tmp_path, spool_bytes=1000, batch_size=5) as writer:
        for _ in range(20):
            writer.log_decision(factories.decision())
        eventually(lambda: writer.pending == 0)
    spooled = sum(len(spooled_ids(p)) for p in tmp_path.glob("spool-*.jsonl"))
    assert spooled < 20 and metric("mvt_log_dropped_total", reason="spool_full") == lost_before + 20 - spooled


def test_decisions_never_wait_for_the_store(store: Store, tmp_path: Path) -> None:
    """While the store holds a write, every further decision is queued and answered at once."""
    writing, release = threading.Event(), threading.Event()

    class StalledStore(FailingStore):
        def insert_decisions(self, decisions: list) -> int:
            writing.set()
            release.wait()
            return store.events.insert_decisions(decisions)

    with running(StalledStore(store), tmp_path, batch_size=5) as writer:
        try:
            writer.log_decision(factories.decision())
            eventually(writing.is_set)  # the writer thread is now inside the store
            for _ in range(199):
                writer.log_decision(factories.decision())
            assert writer.pending == 1 + 199 and len(decisions_of(store)) == 0
        finally:
            release.set()
    assert len(decisions_of(store)) == 200


def test_a_record_the_store_refuses_is_quarantined_and_the_rest_are_written(store: Store, tmp_path: Path) -> None:
    """A lone surrogate cannot be stored (as BSON or as JSON): that one record goes to the quarantine with
    its error, the nine others of its batch reach the store, and logging goes on."""
    before = metric("mvt_log_quarantined_total")
    bad = factories.decision(event_id="bad", context={"device": "mobile\ud800"})
    with running(store, tmp_path, batch_size=10) as writer:
        for i in range(10):
            writer.log_decision(bad if i == 4 else factories.decision())
        eventually(lambda: len(decisions_of(store)) == 9)
        writer.log_decision(factories.decision(event_id="later"))
        eventually(lambda: store.events.get_decision("later") is not None)
    [kept] = quarantined(tmp_path)
    assert kept["record"]["event_id"] == "bad" and kept["record"]["context"]["device"] == "mobile\ud800"
    assert "surrogates not allowed" in kept["error"] and metric("mvt_log_quarantined_total") == before + 1


def test_an_unencodable_record_during_an_outage_is_quarantined_not_spooled(store: Store, tmp_path: Path) -> None:
    failing = FailingStore(store, down=True)
    with running(failing, tmp_path, batch_size=3) as writer:
        for event_id in ("a", "bad", "c"):
            context = {"device": "\udfff"} if event_id == "bad" else {}
            writer.log_decision(factories.decision(event_id=event_id, context=context))
        eventually(lambda: writer.pending == 0)
        [spool] = list(tmp_path.glob("spool-*.jsonl"))
        assert spooled_ids(spool) == ["a", "c"]
        failing.down = False
        writer.log_decision(factories.decision(event_id="d"))
        eventually(lambda: len(decisions_of(store)) == 3)
    assert [q["record"]["event_id"] for q in quarantined(tmp_path)] == ["bad"]


def test_a_spool_line_that_is_not_a_record_is_quarantined_not_retried(store: Store, tmp_path: Path) -> None:
    good = [factories.decision() for _ in range(3)]
    orphan = tmp_path / "spool-4243-cafecafe.jsonl"
    poison = b'{"kind": "decision", "event_id": "half"}'  # parses, but is no decision
    orphan.write_bytes(b"\n".join([to_line(good[0]), poison, to_line(good[1]), to_line(good[2])]) + b"\n")
    with running(store, tmp_path):
        eventually(lambda: not orphan.exists())
    assert len(decisions_of(store)) == 3
    [kept] = quarantined(tmp_path)
    assert kept["record"] == poison.decode() and "KeyError" in kept["error"]


def test_a_disk_that_refuses_the_spool_loses_the_batch_counted_and_logging_goes_on(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lost_before = metric("mvt_log_dropped_total", reason="spool_full")
    failing = FailingStore(store, down=True)
    with running(failing, tmp_path, batch_size=5) as writer:
        spool_file = writer._spool._file

        def disk_full(data: bytes) -> int:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(spool_file, "write", disk_full)
        for _ in range(5):
            writer.log_decision(factories.decision())
        eventually(lambda: metric("mvt_log_dropped_total", reason="spool_full") == lost_before + 5)
        assert writer.alive and writer.spool_bytes == 0  # nothing half-written is left behind
        monkeypatch.undo()
        failing.down = False
        writer.log_decision(factories.decision(event_id="after"))
        eventually(lambda: store.events.get_decision("after") is not None)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the death is the point
def test_a_writer_thread_that_died_is_restarted_and_nothing_queued_is_lost(store: Store, tmp_path: Path) -> None:
    with running(store, tmp_path) as writer:
        original = writer._write_queued
        calls = []

        def crash() -> bool:
            calls.append(1)
            if len(calls) == 1:
                raise SystemExit("simulated death of the thread")  # not an Exception: not caught
            return original()

        writer._write_queued = crash  # type: ignore[method-assign]
        writer.log_decision(factories.decision(event_id="queued"))
        eventually(lambda: not writer.alive)
        assert not writer.healthy
        assert writer.ensure_running()
        writer.log_decision(factories.decision(event_id="next"))
        eventually(lambda: store.events.get_decision("next") is not None)
        assert writer.healthy
    assert store.events.get_decision("queued") is not None
