"""Run training cycles on each experiment's schedule, one trainer per experiment at a time, and
keep one experiment's failure from holding up the others."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from policy.experiment import Experiment
from policy.records import Clock, utcnow
from store.records import AuditEntry, Lease, training_lease
from store.repositories import Store
from trainer.cycle import CycleSummary, run_cycle, run_search
from trainer.search import SearchResult
from trainer.train import Progress

log = logging.getLogger(__name__)

RETRY_SECONDS = 60.0
"""The first wait before a failed experiment is tried again; it doubles with every further
failure, up to the experiment's ``training.interval_seconds``."""

Failed = Callable[[str, str], None]
"""Told ``(experiment id, reason)`` when a cycle fails (the service counts it in a metric)."""


class TrainingBusy(Exception):
    """Another trainer holds the experiment's lease."""


class TrainingFailed(Exception):
    """A cycle or search of one experiment failed; the reason is recorded in the audit log and
    on its lease, and the experiment is tried again after a back-off."""


class Scheduler:
    """Trains experiments whose ``training.interval_seconds`` has passed since their last cycle.

    A lease per experiment (:func:`store.records.training_lease`, held for ``lease_seconds``) guarantees
    that two trainers, in any processes, never train the same experiment at once; if a trainer
    dies its lease expires and another takes over. The time a cycle finished is kept on the
    lease, so every trainer agrees on when the next one is due.

    A cycle that raises is a failure of that experiment only: it is logged, audited
    (``training_failed``, with the reason), counted through ``failed``, kept on the lease
    (``failures``, ``last_error``), and the experiment is retried after ``RETRY_SECONDS``,
    doubling per further failure up to its interval; the other experiments train on schedule.
    """

    def __init__(
        self,
        store: Store,
        owner: str,
        *,
        lease_seconds: float = 600.0,
        clock: Clock = utcnow,
        seed: int = 0,
        progress: Progress | None = None,
        failed: Failed | None = None,
    ) -> None:
        self._store = store
        self._owner = owner
        self._lease_seconds = lease_seconds
        self._clock = clock
        self._seed = seed
        self._progress = progress
        self._failed = failed

    def run_due(self) -> list[CycleSummary]:
        """Run a cycle for every experiment that is due and not being trained elsewhere; a
        failing experiment is recorded and skipped, never stops the pass."""
        summaries = []
        for experiment in self._store.experiments.list():
            try:
                summary = self._run(experiment, force=False)
            except (TrainingBusy, TrainingFailed):
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
        TrainingFailed
            If the cycle failed (recorded as for a scheduled cycle).
        """
        summary = self._run(experiment, force=True)
        if summary is None:  # a forced cycle always runs
            raise TrainingFailed("the cycle did not run")
        return summary

    def search_now(self, experiment: Experiment) -> SearchResult:
        """Search the experiment's learning settings now, under its training lease, without
        training a candidate.

        Raises
        ------
        TrainingBusy
            If another trainer is training this experiment.
        TrainingFailed
            If the search failed.
        """
        name = training_lease(experiment.id)
        holder, _ = self._hold(name, experiment)
        try:
            return run_search(self._store, experiment, self._clock(), seed=self._seed, clock=self._clock)
        except Exception as exc:
            raise TrainingFailed(f"the search of `{experiment.id}` failed: {type(exc).__name__}: {exc}") from exc
        finally:
            self._store.leases.release(name, holder, None)

    def run_forever(self, stop: threading.Event, poll_seconds: float) -> None:
        """Check for due experiments every ``poll_seconds`` until ``stop`` is set."""
        while not stop.is_set():
            try:
                for summary in self.run_due():
                    log.info("training cycle of %s: %s (%s)", summary.experiment, summary.status, summary.reason)
            except Exception:  # the store itself, e.g. while listing experiments
                log.exception("the training schedule failed; retrying at the next poll")
            stop.wait(poll_seconds)

    def _renew(self, name: str, holder: str, learned: int) -> None:
        """Extend the lease while a long cycle makes progress, and report the progress."""
        self._store.leases.acquire(name, holder, self._clock(), self._lease_seconds)
        if self._progress is not None:
            self._progress(learned)

    def _hold(self, name: str, experiment: Experiment) -> tuple[str, Lease]:
        """Take the lease ``name`` with a holder id unique to this run (even within a process)."""
        holder = f"{self._owner}/{uuid.uuid4().hex[:8]}"
        lease = self._store.leases.acquire(name, holder, self._clock(), self._lease_seconds)
        if lease is None:
            raise TrainingBusy(f"experiment `{experiment.id}` is being trained by another trainer")
        return holder, lease

    def _run(self, experiment: Experiment, *, force: bool) -> CycleSummary | None:
        name = training_lease(experiment.id)
        now = self._clock()
        holder, lease = self._hold(name, experiment)
        finished, error = None, None
        try:
            if not force and not is_due(experiment, lease, now):
                return None
            try:
                summary = run_cycle(
                    self._store,
                    experiment,
                    now,
                    seed=self._seed,
                    progress=lambda n: self._renew(name, holder, n),
                    clock=self._clock,
                )
            except Exception as exc:
                error, finished = f"{type(exc).__name__}: {exc}", self._clock()
                log.exception("experiment %s: the training cycle failed", experiment.id)
                self._record_failure(experiment, error)
                raise TrainingFailed(f"the training cycle of `{experiment.id}` failed: {error}") from exc
            finished = self._clock()
            self._record_change(experiment, summary)
            return summary
        finally:
            self._store.leases.release(name, holder, finished, error)

    def _record_change(self, experiment: Experiment, summary: CycleSummary) -> None:
        """Audit a cycle that changed what serves: its learner promoted, or the serving policy
        retired by the guard (uniform random serves)."""
        now = self._store.experiments.get(experiment.id)
        if now is None or now.active_policy == experiment.active_policy:
            return
        serving = (
            self._store.policies.get(experiment.id, experiment.active_policy) if experiment.active_policy else None
        )
        reason = summary.reason if now.active_policy is not None else (serving.reason if serving else "")
        self._store.audit.insert(
            AuditEntry(
                self._clock(),
                experiment.id,
                self._owner,
                "policy_promoted" if now.active_policy is not None else "policy_retired",
                {"active_policy": experiment.active_policy},
                {"active_policy": now.active_policy, "reason": reason},
            )
        )

    def _record_failure(self, experiment: Experiment, error: str) -> None:
        self._store.audit.insert(
            AuditEntry(
                self._clock(),
                experiment.id,
                self._owner,
                "training_failed",
                {"active_policy": experiment.active_policy},
                {"error": error},
            )
        )
        if self._failed is not None:
            self._failed(experiment.id, error)


def is_due(experiment: Experiment, lease: Lease, now: datetime) -> bool:
    """Whether the experiment's next cycle is due: ``training.interval_seconds`` after the last
    finished one, or, after ``n`` failures in a row, ``RETRY_SECONDS · 2^(n-1)`` (at most the
    interval) after the last failure."""
    interval = timedelta(seconds=experiment.training.interval_seconds)
    if lease.failures and lease.last_failed is not None:
        wait = min(interval, timedelta(seconds=RETRY_SECONDS * 2 ** min(lease.failures - 1, 30)))
        return now - lease.last_failed >= wait
    return lease.last_finished is None or now - lease.last_finished >= interval
