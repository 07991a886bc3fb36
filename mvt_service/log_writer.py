"""Write-behind log of decisions and rewards: memory, then MongoDB, else a local spool.

A page view must not wait for a MongoDB round trip, so decisions and rewards are only queued in
memory; a background thread writes them in batches (one unordered ``insert_many`` per kind).

- **Store down or refusing**: the batch goes to the process's spool file (fsync'd, see
  :mod:`mvt_service.spool`); once a write succeeds again, the spool, and any spool left by a
  dead process, is replayed into the store. Every record has its own key (a decision's event
  id, a reward's ``(event_id, reward_id)``), so replaying twice stores nothing twice.
- **Bounded**: at most ``queue_max`` records wait in memory. When the queue is full, a
  decision is still answered but not logged (counted in ``mvt_log_dropped_total``); a reward
  batch is refused with 503, so that its sender retries.
- **Shutdown** drains the queue: to the store, else to the spool.
- **What a crash loses**: ``kill -9`` loses what was queued in memory and not yet written or
  spooled, i.e. at most ``flush_seconds`` of records (one batch), and a spool append cut in
  half (its torn line is skipped on replay). Everything spooled survives.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from mvt_service import metrics
from mvt_service.errors import Unavailable
from mvt_service.spool import Spool, discard, read_batches
from mvt_service.store import Store
from policy.records import Decision, Reward

log = logging.getLogger(__name__)

Record = Decision | Reward
REPLAY_RETRY_SECONDS = 5.0
"""While the spool holds records and no write has succeeded, how often replaying is retried."""


class LogWriter:
    """The bounded queue of decisions and rewards, and the thread that writes it."""

    def __init__(self, store: Store, spool: Spool, *, batch_size: int, flush_seconds: float, queue_max: int) -> None:
        self._store = store
        self._spool = spool
        self._batch_size = batch_size
        self._flush_seconds = flush_seconds
        self._queue_max = queue_max
        self._queue: deque[Record] = deque()
        self._wake = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="mvt-log-writer", daemon=True)
        metrics.QUEUE_DEPTH.set_function(lambda: len(self._queue))
        metrics.SPOOL_BYTES.set_function(lambda: self._spool.size)

    def start(self) -> None:
        self._thread.start()

    @property
    def pending(self) -> int:
        return len(self._queue)

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
        """Stop the thread once everything queued is in the store or the spool."""
        with self._wake:
            self._closing = True
            self._wake.notify()
        self._thread.join()
        self._spool.close()

    def _nudge(self) -> None:
        if len(self._queue) >= self._batch_size:
            with self._wake:
                self._wake.notify()

    def _run(self) -> None:
        replayed = self._replay()  # first, what a previous process left behind
        retry_at = time.monotonic() + REPLAY_RETRY_SECONDS
        while True:
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

    def _write_queued(self) -> bool:
        """Write every queued record, batch by batch; once the store refuses a batch, the rest
        go to the spool. True if every batch reached the store."""
        ok = True
        while self._queue:
            batch = [self._queue.popleft() for _ in range(min(self._batch_size, len(self._queue)))]
            if ok and self._write(batch):
                continue
            ok = False
            if self._spool.append([to_json(r) for r in batch]):
                metrics.SPOOLED.inc(len(batch))
            else:
                metrics.DROPPED.labels("spool_full").inc(len(batch))
                log.error("the spool is full: %d records lost", len(batch))
        return ok

    def _write(self, batch: Sequence[Record]) -> bool:
        try:
            self._insert(batch)
        except Exception:
            metrics.WRITE_FAILURES.inc()
            log.exception("writing %d records failed; they go to the spool", len(batch))
            return False
        return True

    def _replay_file(self, path: Path) -> None:
        for records in read_batches(path, self._batch_size):
            self._insert([from_json(r) for r in records])
            metrics.REPLAYED.inc(len(records))

    def _insert(self, batch: Sequence[Record]) -> None:
        """Insert a batch's decisions and rewards (idempotently) and count them."""
        decisions = [r for r in batch if isinstance(r, Decision)]
        rewards = [r for r in batch if isinstance(r, Reward)]
        if decisions:
            metrics.WRITTEN.labels("decision").inc(self._store.insert_decisions(decisions))
        if rewards:
            new, duplicates = self._store.insert_rewards(rewards)
            metrics.WRITTEN.labels("reward").inc(new)
            metrics.DUPLICATE_REWARDS.inc(duplicates)

    def _replay(self) -> bool:
        """Write this process's spool, then any dead process's, into the store; False (and
        the spool kept) if the store refuses."""
        try:
            if self._spool.size:
                self._replay_file(self._spool.path)
                self._spool.clear()
            for path, locked in self._spool.orphans():
                with locked:
                    self._replay_file(path)
                    discard(path, locked)
        except Exception:
            metrics.WRITE_FAILURES.inc()
            log.warning(
                "replaying the spool failed; it is retried after the next successful write or in %.0f s",
                REPLAY_RETRY_SECONDS,
                exc_info=True,
            )
            return False
        return True


def to_json(record: Record) -> dict[str, Any]:
    """A decision or reward as a JSON-compatible spool record."""
    return {
        "kind": "decision" if isinstance(record, Decision) else "reward",
        **asdict(record),
        "ts": record.ts.isoformat(),
    }


def from_json(doc: dict[str, Any]) -> Record:
    """The decision or reward of a spool record."""
    fields = {k: v for k, v in doc.items() if k != "kind"}
    fields["ts"] = datetime.fromisoformat(fields["ts"])
    if doc["kind"] == "reward":
        return Reward(**fields)
    return Decision(**{**fields, "actions": tuple(fields["actions"]), "pmf": tuple(fields["pmf"])})
