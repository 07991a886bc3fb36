"""Write-behind log of decisions and rewards: memory, then MongoDB, else a local spool.

A page view must not wait for a MongoDB round trip, so decisions and rewards are only queued in
memory; a background thread writes them in batches (one unordered ``insert_many`` per kind).

- **Store unavailable** (unreachable, electing, timing out): the batch goes to the process's
  spool file (fsync'd, see :mod:`mvt_service.spool`); once a write succeeds again, the spool,
  and any spool left by a dead process, is replayed into the store. Every record has its own
  key (a decision's event id, a reward's ``(event_id, reward_id)``), so replaying twice stores
  nothing twice.
- **A record the store refuses** (a document it cannot encode or hold): the batch is retried
  record by record, and each record that can never be written goes, with its error, to the
  quarantine file (``quarantine-*.jsonl`` beside the spool; counted in
  ``mvt_log_quarantined_total``), never to the spool, where it would be retried forever. A
  spool line that cannot be read or replayed is quarantined the same way.
- **Bounded**: at most ``queue_max`` records wait in memory. When the queue is full, a
  decision is still answered but not logged (counted in ``mvt_log_dropped_total``); a reward
  batch is refused with 503, so that its sender retries. A full spool, or a disk that refuses
  the spool's write (full, read-only), loses the batch, counted.
- **Supervised**: an unexpected error in the thread is logged and counted
  (``mvt_log_writer_errors_total``) and the thread goes on; should it die anyway,
  :meth:`LogWriter.ensure_running` (called by every worker's refresh loop) starts a new one.
  :attr:`LogWriter.healthy` is false while it is down or its backlog is past ``ready_backlog``,
  and ``/readyz`` answers 503.
- **Shutdown** drains the queue: to the store, else to the spool (in the caller's thread if the
  writer's thread is gone).
- **What a crash loses**: ``kill -9`` loses what was queued in memory and not yet written or
  spooled, i.e. at most ``flush_seconds`` of records (one batch), and a spool append cut in
  half (its torn line is quarantined on replay). Everything spooled survives.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from mvt_service import metrics
from mvt_service.errors import Unavailable
from mvt_service.spool import Quarantine, Spool, discard, read_lines
from policy.records import Decision, Reward, record_of, record_values
from store.errors import StoreUnavailable
from store.records import EVENT_KINDS
from store.repositories import Store

log = logging.getLogger(__name__)

Record = Decision | Reward
REPLAY_RETRY_SECONDS = 5.0
"""While the spool holds records and no write has succeeded, how often replaying is retried."""
SWEEP_SECONDS = 60.0
"""How often the writer sweeps the events waiting for their decision (see
:meth:`store.repositories.EventLog.sweep`)."""
ERROR_PAUSE_SECONDS = 0.5
"""How long the thread pauses after an unexpected error before it goes on."""


class LogWriter:
    """The bounded queue of decisions and rewards, and the supervised thread that writes it."""

    def __init__(
        self,
        store: Store,
        spool: Spool,
        quarantine: Quarantine,
        *,
        batch_size: int,
        flush_seconds: float,
        queue_max: int,
        ready_backlog: int | None = None,
    ) -> None:
        self._store = store
        self._spool = spool
        self._quarantine = quarantine
        self._batch_size = batch_size
        self._flush_seconds = flush_seconds
        self._queue_max = queue_max
        self._ready_backlog = queue_max // 2 if ready_backlog is None else ready_backlog
        self._queue: deque[Record] = deque()
        self._in_flight = 0
        self._wake = threading.Condition()
        self._closing = False
        self._started = False
        self._thread = self._new_thread()
        metrics.QUEUE_DEPTH.set_function(lambda: len(self._queue))
        metrics.SPOOL_BYTES.set_function(lambda: self._spool.size)

    def _new_thread(self) -> threading.Thread:
        return threading.Thread(target=self._run, name="mvt-log-writer", daemon=True)

    def start(self) -> None:
        self._started = True
        self._thread.start()

    def ensure_running(self) -> bool:
        """Start a new writer thread if the last one died; return whether one had to be."""
        if not self._started or self._closing or self._thread.is_alive():
            return False
        log.error("the log writer thread was not running; starting a new one")
        metrics.WRITER_RESTARTS.inc()
        self._thread = self._new_thread()
        self._thread.start()
        return True

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def healthy(self) -> bool:
        """The thread runs and its backlog is at most ``ready_backlog`` records."""
        return self.alive and len(self._queue) <= self._ready_backlog

    @property
    def pending(self) -> int:
        """Records not yet in the store, the spool or the quarantine: queued, or being written."""
        return len(self._queue) + self._in_flight

    @property
    def spool_bytes(self) -> int:
        return self._spool.size

    def log_decision(self, decision: Decision) -> None:
        """Queue a decision; if the queue is full it is dropped and counted, never refused."""
        if len(self._queue) >= self._queue_max:
            metrics.DROPPED.labels("decision").inc()
            return
        self._queue.append(decision)
        self._nudge()

    def log_rewards(self, rewards: Sequence[Reward]) -> None:
        """Queue reward events, all or none.

        Raises
        ------
        Unavailable
            If they do not fit in the queue (the store is down and the spool full, or the
            writer is far behind): the sender should retry.
        """
        if len(self._queue) + len(rewards) > self._queue_max:
            metrics.REFUSED_REWARDS.inc(len(rewards))
            raise Unavailable("the reward log is backed up; retry shortly")
        self._queue.extend(rewards)
        self._nudge()

    def close(self) -> None:
        """Stop once everything queued is in the store, the spool or the quarantine."""
        with self._wake:
            self._closing = True
            self._wake.notify()
        if self._thread.is_alive():
            self._thread.join()
        if self._queue:  # the thread died: drain here
            self._write_queued()
        self._spool.close()
        self._quarantine.close()

    def _nudge(self) -> None:
        if len(self._queue) >= self._batch_size:
            with self._wake:
                self._wake.notify()

    def _run(self) -> None:
        replayed = False
        retry_at = time.monotonic()  # first, what a previous process left behind
        sweep_at = time.monotonic() + SWEEP_SECONDS
        while True:
            try:
                with self._wake:
                    if not self._closing and len(self._queue) < self._batch_size:
                        self._wake.wait(self._flush_seconds)
                    closing = self._closing
                wrote = self._write_queued() if self._queue else None
                if wrote is False:
                    replayed = False
                elif not replayed and (wrote or time.monotonic() >= retry_at):
                    replayed = self._replay()  # the store takes writes again: empty the spools into it
                    retry_at = time.monotonic() + REPLAY_RETRY_SECONDS
                if closing and not self._queue:
                    return
                if replayed and time.monotonic() >= sweep_at:
                    sweep_at = time.monotonic() + SWEEP_SECONDS
                    self.sweep()
            except Exception:  # a fault of the writer itself: it must not stop logging
                metrics.WRITER_ERRORS.inc()
                log.exception("the log writer hit an unexpected error; it goes on")
                time.sleep(ERROR_PAUSE_SECONDS)

    def sweep(self) -> None:
        """Adopt the waiting events whose decision has arrived, delete the expired ones, and
        count both (the store being unavailable only postpones the sweep)."""
        try:
            swept = self._store.events.sweep(self._store.clock())
        except StoreUnavailable:
            return
        for kind in EVENT_KINDS:
            metrics.EVENTS_EXPIRED.labels(kind).inc(swept.expired[kind])
        metrics.EVENTS_WAITING.set(swept.waiting)

    def _write_queued(self) -> bool:
        """Write every queued record, batch by batch; once the store is unavailable, the rest
        go to the spool. True if the store took every batch."""
        available = True
        while self._queue:
            self._in_flight = min(self._batch_size, len(self._queue))
            batch = [self._queue.popleft() for _ in range(self._in_flight)]
            try:
                available = available and self._stored(batch)
                if not available:
                    self._to_spool(batch)
            finally:
                self._in_flight = 0
        return available

    def _stored(self, batch: Sequence[Record]) -> bool:
        """Write a batch to the store; False if the store is unavailable (counted and logged)."""
        try:
            self._write(batch)
        except StoreUnavailable as exc:
            metrics.WRITE_FAILURES.inc()
            log.warning("the store is unavailable (%s); %d records go to the spool", exc, len(batch))
            return False
        return True

    def _write(self, batch: Sequence[Record]) -> None:
        """Write a batch; if the store refuses it, find the records it refuses one by one and
        quarantine them.

        Raises
        ------
        StoreUnavailable
            If the store cannot take writes now (nothing of the batch is lost: the caller spools
            it, and a replay stores nothing twice).
        """
        try:
            self._insert(batch)
            return
        except StoreUnavailable:
            raise
        except Exception as exc:
            log.warning("the store refused a batch of %d records (%s); retrying them one by one", len(batch), exc)
        for record in batch:
            try:
                self._insert([record])
            except StoreUnavailable:
                raise
            except Exception as exc:
                self._quarantine_record(to_json(record), exc)

    def _to_spool(self, batch: Sequence[Record]) -> None:
        lines = []
        for record in batch:
            try:
                lines.append(to_line(record))
            except (TypeError, ValueError) as exc:  # not encodable: the store would refuse it too
                self._quarantine_record(to_json(record), exc)
        if not lines:
            return
        if self._spool.append(lines):
            metrics.SPOOLED.inc(len(lines))
        else:
            metrics.DROPPED.labels("spool_full").inc(len(lines))
            log.error("the spool cannot take more (full, or the disk refuses it): %d records lost", len(lines))

    def _quarantine_record(self, record: Any, error: Exception) -> None:
        if self._quarantine.add(record, f"{type(error).__name__}: {error}"):
            metrics.QUARANTINED.inc()
        else:
            metrics.DROPPED.labels("quarantine_failed").inc()

    def _insert(self, batch: Sequence[Record]) -> None:
        """Insert a batch's decisions and rewards (idempotently) and count them."""
        decisions = [r for r in batch if isinstance(r, Decision)]
        rewards = [r for r in batch if isinstance(r, Reward)]
        if decisions:
            metrics.WRITTEN.labels("decision").inc(self._store.events.insert_decisions(decisions))
        if rewards:
            new, duplicates = self._store.events.insert_rewards(rewards)
            metrics.WRITTEN.labels("reward").inc(new)
            metrics.DUPLICATE_REWARDS.inc(duplicates)

    def _replay_file(self, path: Path) -> None:
        """Write a spool file's records into the store; unreadable lines are quarantined.

        Raises
        ------
        StoreUnavailable
            If the store cannot take writes now (the file is kept and replayed again later).
        """
        batch: list[Record] = []
        for number, line in read_lines(path):
            try:
                batch.append(from_line(line))
            except (TypeError, ValueError, KeyError) as exc:  # torn by a crash, or not a record
                log.warning("spool %s: line %d cannot be replayed; quarantined", path.name, number)
                self._quarantine_record(line.decode("utf-8", "replace"), exc)
            if len(batch) >= self._batch_size:
                self._write(batch)
                metrics.REPLAYED.inc(len(batch))
                batch = []
        if batch:
            self._write(batch)
            metrics.REPLAYED.inc(len(batch))

    def _replay(self) -> bool:
        """Write this process's spool, then any dead process's, into the store; False (and
        the spool kept) if the store is unavailable."""
        try:
            if self._spool.size:
                self._replay_file(self._spool.path)
                self._spool.clear()
            for path, locked in self._spool.orphans():
                with locked:
                    self._replay_file(path)
                    discard(path, locked)
        except StoreUnavailable:
            metrics.WRITE_FAILURES.inc()
            log.warning(
                "replaying the spool failed: the store is unavailable; retried after the next successful write "
                "or in %.0f s",
                REPLAY_RETRY_SECONDS,
            )
            return False
        return True


def to_json(record: Record) -> dict[str, Any]:
    """A decision or reward as a JSON-compatible spool record."""
    return {
        "kind": "decision" if isinstance(record, Decision) else "reward",
        **record_values(record),
        "ts": record.ts.isoformat(),
    }


def to_line(record: Record) -> bytes:
    """A record's spool line (without the newline).

    Raises
    ------
    TypeError
        If the record holds text that is not valid Unicode.
    """
    return orjson.dumps(to_json(record))


def from_line(line: bytes) -> Record:
    """The record of a spool line.

    Raises
    ------
    ValueError, TypeError, KeyError
        If the line is not valid JSON or not a record.
    """
    doc = orjson.loads(line)
    if not isinstance(doc, dict):
        raise ValueError("a spool line must be a JSON object")
    return from_json(doc)


def from_json(doc: dict[str, Any]) -> Record:
    """The decision or reward of a spool record."""
    kinds: dict[str, type[Record]] = {"decision": Decision, "reward": Reward}
    if doc["kind"] not in kinds:
        raise ValueError(f"unknown record kind {doc['kind']!r}")
    return record_of(kinds[doc["kind"]], {**doc, "ts": datetime.fromisoformat(doc["ts"])})
