"""Write-behind decision log: decisions are queued in memory and written in batches.

A page view must not wait for a MongoDB round trip, so :meth:`DecisionWriter.append` only queues;
a background thread writes batches with one unordered ``insert_many``. A batch that fails stays
queued and is retried (decisions are keyed by event id, so a retry never duplicates). Shutdown
drains the queue. What a crash loses is what was still queued: at most ``flush_seconds`` of
decisions, or ``queue_max`` while the database is unreachable.
"""

from __future__ import annotations

import logging
import threading
from collections import deque

from mvt_service.errors import Unavailable
from mvt_service.store import Store
from trainer.records import Decision

log = logging.getLogger(__name__)


class DecisionWriter:
    """A bounded queue of decisions and the thread that writes it to the store."""

    def __init__(self, store: Store, *, batch_size: int, flush_seconds: float, queue_max: int) -> None:
        self._store = store
        self._batch_size = batch_size
        self._flush_seconds = flush_seconds
        self._queue_max = queue_max
        self._queue: deque[Decision] = deque()
        self._wake = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="mvt-decision-writer", daemon=True)
        self.written = 0
        self.failures = 0

    def start(self) -> None:
        self._thread.start()

    @property
    def pending(self) -> int:
        return len(self._queue)

    def append(self, decision: Decision) -> None:
        """Queue a decision for writing.

        Raises
        ------
        Unavailable
            If ``queue_max`` decisions are already waiting (the database is down or too slow):
            the caller must not hand out a decision that cannot be logged.
        """
        if len(self._queue) >= self._queue_max:
            raise Unavailable("the decision log is backed up; try again shortly")
        self._queue.append(decision)
        if len(self._queue) >= self._batch_size:
            with self._wake:
                self._wake.notify()

    def close(self) -> None:
        """Stop the thread after it has written everything queued (or given up on a dead store)."""
        with self._wake:
            self._closing = True
            self._wake.notify()
        self._thread.join()

    def _run(self) -> None:
        failed = False
        while True:
            with self._wake:
                if not self._closing and (failed or len(self._queue) < self._batch_size):
                    self._wake.wait(self._flush_seconds)
                closing = self._closing
            failed = not self._write_queued()
            if closing and (failed or not self._queue):
                if self._queue:
                    log.error("shutting down with %d decisions unwritten", len(self._queue))
                return

    def _write_queued(self) -> bool:
        """Write every queued decision, batch by batch; False if a write failed."""
        while self._queue:
            batch = [self._queue.popleft() for _ in range(min(self._batch_size, len(self._queue)))]
            try:
                self.written += self._store.insert_decisions(batch)
            except Exception:
                self.failures += 1
                log.exception("writing %d decisions failed; they stay queued", len(batch))
                self._queue.extendleft(reversed(batch))
                return False
        return True
