"""Prometheus metrics of a worker process, served at ``GET /metrics``.

Counters count since the process started; with several workers each process has its own (see
the README on scraping).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

DECISIONS = Counter(
    "mvt_decisions",
    "Decisions answered, by experiment and serving group (bandit, holdout, paused)",
    ["experiment", "group"],
)
DECISION_SECONDS = Histogram(
    "mvt_decision_seconds",
    "Time to choose and queue a decision, in the handler",
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25),
)
REWARDS = Counter(
    "mvt_rewards_received",
    "Reward events accepted by the webhook (the webhook names no experiment; the training join attributes them)",
)
WRITTEN = Counter("mvt_log_written", "Records written to the store by the log writer", ["kind"])
DUPLICATE_REWARDS = Counter("mvt_rewards_duplicate", "Reward events already stored (a repeated post)")
WRITE_FAILURES = Counter(
    "mvt_log_write_failures", "Writes that found the store unavailable (their records went to, or stayed in, the spool)"
)
QUARANTINED = Counter(
    "mvt_log_quarantined",
    "Records the store refused, or spool lines that could not be replayed, kept in the quarantine file",
)
WRITER_ERRORS = Counter("mvt_log_writer_errors", "Unexpected errors of the log writer thread (it went on)")
WRITER_RESTARTS = Counter("mvt_log_writer_restarts", "Times a dead log writer thread was started again")
SPOOLED = Counter("mvt_log_spooled", "Records written to the local spool because the store refused them")
REPLAYED = Counter("mvt_log_replayed", "Spooled records replayed into the store")
DROPPED = Counter(
    "mvt_log_dropped",
    "Records lost: decisions answered while the queue was full (decision), batches the spool could not take "
    "(spool_full: full, or the disk refused), records the quarantine could not take (quarantine_failed)",
    ["reason"],
)
REFUSED_REWARDS = Counter("mvt_rewards_refused", "Reward events answered 503 because the queue was full")
EVENTS_WAITING = Gauge(
    "mvt_events_waiting", "Rewards and activations stored while their decision is not (yet): orphans, or events early"
)
EVENTS_EXPIRED = Counter(
    "mvt_events_expired",
    "Rewards and activations deleted after MVT_PENDING_SECONDS without their decision (orphans), by kind",
    ["kind"],
)
QUEUE_DEPTH = Gauge("mvt_log_queue_depth", "Records waiting in memory for the log writer")
SPOOL_BYTES = Gauge("mvt_spool_bytes", "Bytes in this process's spool file")
TRAINING_FAILURES = Counter(
    "mvt_training_failures", "Training cycles that failed, by experiment (retried with back-off)", ["experiment"]
)
STICKY_ANSWERS = Counter(
    "mvt_sticky_answers",
    "Decision requests answered with the visitor's kept decision (not a new decision, not logged again)",
    ["experiment"],
)
POLICY_FALLBACKS = Counter(
    "mvt_policy_fallbacks",
    "Decisions served uniformly over the eligible arms because the policy's scores were not finite",
    ["experiment"],
)


def count_training_failure(experiment_id: str, reason: str) -> None:
    """The schedule's ``failed`` hook: count a failed cycle."""
    TRAINING_FAILURES.labels(experiment_id).inc()


ACTIVE_POLICY = Gauge("mvt_active_policy_version", "Policy version this worker serves (0: none)", ["experiment"])
CANDIDATE_POLICY = Gauge(
    "mvt_candidate_policy_version",
    "Candidate version taking part in this worker's decisions (0: none, or exploration.candidate_share is 0)",
    ["experiment"],
)
CANDIDATE_DECISIONS = Counter(
    "mvt_candidate_decisions",
    "Decisions whose arm the candidate's share of the exploration budget drew (its greedy choice)",
    ["experiment"],
)
EPSILON = Gauge("mvt_exploration_epsilon", "Exploration rate of the experiment", ["experiment"])
