"""Run training cycles on each experiment's schedule, one trainer per experiment at a time."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import cast

from policy.experiment import Experiment
from policy.records import utcnow
from trainer.cycle import CycleSummary, run_cycle, run_search
from trainer.search import SearchResult
from trainer.storage import Lease, TrainerStore
from trainer.train import Progress

log = logging.getLogger(__name__)


class TrainingBusy(Exception):
    """Another trainer holds the experiment's lease."""


class Scheduler:
    """Trains experiments whose ``training.interval_seconds`` has passed since their last cycle.

    A lease document per experiment (``train:<id>``, held for ``lease_seconds``) guarantees
    that two trainers, in any processes, never train the same experiment at once; if a trainer
    dies its lease expires and another takes over. The time a cycle finished is kept on the
    lease, so every trainer agrees on when the next one is due.
    """

    def __init__(
        self,
        store: TrainerStore,
        owner: str,
        *,
        lease_seconds: float = 600.0,
        clock: Callable[[], datetime] = utcnow,
        seed: int = 0,
        progress: Progress | None = None,
    ) -> None:
        self._store = store
        self._owner = owner
        self._lease_seconds = lease_seconds
        self._clock = clock
        self._seed = seed
        self._progress = progress

    def run_due(self) -> list[CycleSummary]:
        """Run a cycle for every experiment that is due and not being trained elsewhere."""
        summaries = []
        for experiment in self._store.list_experiments():
            try:
                summary = self._run(experiment, force=False)
            except TrainingBusy:
                continue
            if summary is not None:
                summaries.append(summary)
        return summaries

    def train_now(self, experiment: Experiment) -> CycleSummary:
        """Run a cycle now, due or not.

        Raises
        ------
        TrainingBusy
            If another trainer is training this experiment.
        """
        return cast(CycleSummary, self._run(experiment, force=True))  # a forced cycle always runs

    def search_now(self, experiment: Experiment) -> SearchResult:
        """Search the experiment's learning settings now, under its training lease, without
        training a candidate.

        Raises
        ------
        TrainingBusy
            If another trainer is training this experiment.
        """
        name = f"train:{experiment.id}"
        holder, _ = self._hold(name, experiment)
        try:
            return run_search(self._store, experiment, self._clock(), seed=self._seed)
        finally:
            self._store.release_lease(name, holder, None)

    def run_forever(self, stop: threading.Event, poll_seconds: float) -> None:
        """Check for due experiments every ``poll_seconds`` until ``stop`` is set."""
        while not stop.is_set():
            try:
                for summary in self.run_due():
                    log.info("training cycle of %s: %s (%s)", summary.experiment, summary.status, summary.reason)
            except Exception:
                log.exception("training cycle failed; retrying at the next poll")
            stop.wait(poll_seconds)

    def _renew(self, name: str, holder: str, learned: int) -> None:
        """Extend the lease while a long cycle makes progress, and report the progress."""
        self._store.acquire_lease(name, holder, self._clock(), self._lease_seconds)
        if self._progress is not None:
            self._progress(learned)

    def _hold(self, name: str, experiment: Experiment) -> tuple[str, Lease]:
        """Take the lease ``name`` with a holder id unique to this run (even within a process)."""
        holder = f"{self._owner}/{uuid.uuid4().hex[:8]}"
        lease = self._store.acquire_lease(name, holder, self._clock(), self._lease_seconds)
        if lease is None:
            raise TrainingBusy(f"experiment `{experiment.id}` is being trained by another trainer")
        return holder, lease

    def _run(self, experiment: Experiment, *, force: bool) -> CycleSummary | None:
        name = f"train:{experiment.id}"
        now = self._clock()
        holder, lease = self._hold(name, experiment)
        finished = None
        try:
            interval = timedelta(seconds=experiment.training.interval_seconds)
            if not force and lease.last_finished is not None and now - lease.last_finished < interval:
                return None
            summary = run_cycle(
                self._store, experiment, now, seed=self._seed, progress=lambda n: self._renew(name, holder, n)
            )
            finished = self._clock()
            return summary
        finally:
            self._store.release_lease(name, holder, finished)
