"""One training cycle of an experiment, as a pipeline: plan → collect → settings → score and
learn → evaluate → decide → record.

- **plan**: the cycle *continues* the experiment's learner (its latest registered version, with
  VW's learning state) on the decisions whose attribution windows closed since its data ended,
  so its cost follows new traffic; or, for the first learner or after ``training.vw`` changed,
  starts a *new* one from scratch on the last ``training.lookback_seconds`` of closed-window
  decisions.
- **settings**: a continued learner keeps its settings; a new one takes the configured ones,
  or the policy search's choice (:mod:`trainer.search`).
- **score and learn**: every event is learned, and scored by the version the cycle judges and
  by the serving policy (:mod:`trainer.progressive`). The version judged is the *candidate*, as
  it was offered, when the learner continued is the candidate; else the cycle's own learner (a
  new one cross-fitted; a continued one before it learns each event, judged only when there
  is no candidate share, or it continues another version than the serving one: with a share, a
  learner that continues the serving policy is judged once it is offered).
- **evaluate** and **decide**: the paired differences join the lineage's evidence, and the
  promotion rule (:mod:`trainer.promotion`) reads them, each cycle one look.
- **record**: the learner is registered as a new version, with its data window, evidence and
  reason, and a replay report is stored. The version judged becomes ``active`` if promoted;
  the learner, unless it was the one promoted, is ``rejected`` (the next cycle continues it
  either way) and becomes the *candidate*, whose greedy choice gets
  ``exploration.candidate_share`` of the exploration budget, so that the next cycle judges it
  on events where its choices were shown; not while its own evidence shows it worse than
  uniform random (the guard's rule, on learner − uniform random). If the serving policy's own
  evidence shows it worse than uniform random, it is retired and uniform random serves
  (recorded like a promotion).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from policy.experiment import Experiment
from policy.learning import LearningSettings
from policy.records import Clock, PolicyRecord, utcnow
from replay.online import online_comparison
from replay.sequence import Evidence
from store.records import Report
from store.repositories import Store
from trainer import promotion
from trainer.join import Example, JoinStats, closed_before, closed_examples
from trainer.models import saved_model, serving_model
from trainer.progressive import score_and_learn
from trainer.report import evaluate_cycle, report_document
from trainer.search import SearchResult, sample, search
from trainer.train import Progress

log = logging.getLogger(__name__)

NOT_JUDGED = (
    "not judged this cycle: it continues the serving policy, so it differs from it only where exploration "
    "tried its choices; it is the candidate from now on, judged on the events served while it is"
)

CycleStatus = Literal["active", "rejected", "skipped"]
Mode = Literal["continued", "new"]


@dataclass(frozen=True)
class CycleSummary:
    """What a cycle did: ``status`` is the learner's (``active`` when promoted, else
    ``rejected``) or ``skipped`` when nothing was trained; ``mode`` whether it continued the
    learner or started a new one; ``events`` how many it learned (each scored too: :mod:`trainer.progressive`);
    ``reason`` says why, in words."""

    experiment: str
    status: CycleStatus
    reason: str
    version: int | None = None
    mode: Mode | None = None
    join: dict[str, Any] = field(default_factory=dict)
    train_seconds: float = 0.0
    events: int = 0

    @property
    def examples(self) -> int:
        return int(self.join.get("examples", 0))


@dataclass(frozen=True)
class Plan:
    """What a cycle trains on: the decisions made in ``[start, end)``, continuing ``parent`` (a
    new learner when None), with the evidence gathered so far; ``why`` in words."""

    start: datetime | None
    end: datetime
    parent: PolicyRecord | None
    evidence: Evidence
    serving_evidence: Evidence
    guard: Evidence
    candidate_guard: Evidence
    why: str
    guard_from: datetime | None = None
    """Where the guard's evidence began: the start of the first cycle of its stretch."""
    judged_since: datetime | None = None
    """The learner is judged on the events from here on (None: all it learns)."""

    @property
    def mode(self) -> Mode:
        return "new" if self.parent is None else "continued"


def plan_cycle(store: Store, experiment: Experiment, now: datetime) -> Plan:
    """Continue the latest learner if it was trained with the configured settings and is
    loadable; else start a new one on the lookback window, or, after the guard retired the
    serving policy, on the events since its evidence began."""
    end = closed_before(experiment, now)
    latest = store.policies.latest(experiment.id)
    metrics = dict(latest.metrics or {}) if latest is not None else {}
    same_serving = metrics.get("serving_version") == experiment.active_policy
    guard = _evidence(metrics.get("guard")) if same_serving else Evidence()
    guard_from = _moment(metrics.get("guard_from")) if same_serving else None
    fresh_start = end - timedelta(seconds=experiment.training.lookback_seconds)

    def new(start: datetime, why: str, judged_since: datetime | None = None) -> Plan:
        return Plan(
            max(fresh_start, start), end, None, Evidence(), Evidence(), guard, Evidence(), why, guard_from, judged_since
        )

    if latest is None:
        return new(fresh_start, "no learner yet")
    if metrics.get("configured") != experiment.training.vw.as_dict() or latest.data_to is None:
        return new(fresh_start, "training.vw changed")
    harm_from = _moment(metrics.get("retired_from"))
    if harm_from is not None:  # the world the lineage learned changed; judged on what uniform random served since
        why = f"the guard retired v{metrics.get('serving_version')}: anew since the harm began"
        return new(harm_from, why, latest.data_to)
    # evidence is about one comparison: it starts anew once the learner is promoted (compared with
    # itself from then on) or when something else serves than it was gathered against
    fresh = latest.status in ("active", "retired") or not same_serving
    evidence = Evidence() if fresh else _evidence(metrics.get("evidence"))
    serving_evidence = Evidence() if fresh else _evidence(metrics.get("serving_evidence"))
    candidate_guard = _evidence(metrics.get("candidate_guard"))
    return Plan(
        latest.data_to,
        end,
        latest,
        evidence,
        serving_evidence,
        guard,
        candidate_guard,
        f"continues v{latest.version}",
        guard_from,
    )


def _first_since(examples: list[Example], since: datetime | None) -> int:
    """The index of the first example at or after ``since`` (0 when None, or when none is:
    then every example is judged)."""
    return next((i for i, e in enumerate(examples) if e.ts >= since), 0) if since is not None else 0


def _moment(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _evidence(doc: Any) -> Evidence:
    try:
        return Evidence.from_dict(doc)
    except ValueError:
        return Evidence()


def run_cycle(
    store: Store,
    experiment: Experiment,
    now: datetime,
    *,
    seed: int = 0,
    progress: Progress | None = None,
    clock: Clock = utcnow,
) -> CycleSummary:
    """Run the pipeline of the module on ``experiment`` at ``now``; ``clock`` (the
    service's) times the policy search's budget."""
    started = time.perf_counter()
    plan = plan_cycle(store, experiment, now)
    stats = JoinStats()
    examples = list(closed_examples(store, experiment, now, stats, start=plan.start))

    def skipped(reason: str) -> CycleSummary:
        log.info("experiment %s: nothing trained: %s", experiment.id, reason)
        return CycleSummary(
            experiment.id, "skipped", reason, None, plan.mode, stats.as_dict(), time.perf_counter() - started, 0
        )

    if plan.mode == "new" and len(examples) < experiment.training.min_events:
        return skipped(
            f"a new learner ({plan.why}) needs training.min_events ({experiment.training.min_events:,}) "
            f"closed-window decisions in the lookback window; there are {len(examples):,}"
        )
    if not examples:
        return skipped(
            f"no decision's attribution window closed since v{plan.parent.version}'s data ended"
            if plan.parent
            else "no closed-window decisions"
        )

    searches = plan.parent is None and experiment.training.search.enabled
    found = _search(experiment, examples, seed, clock) if searches else None
    settings = _settings(plan, experiment, found)
    start = _learner(store, experiment, plan, settings)
    offered = _offered(experiment, plan) if isinstance(start, bytes) else None
    learner, scored = score_and_learn(
        start,
        serving_model(store, experiment),
        examples,
        experiment.arm_lines,
        experiment.strategy,
        passes=1 if isinstance(start, bytes) else settings.passes,  # a new learner makes all its passes
        seed=seed,
        as_offered=offered is not None,
        judged_from=_first_since(examples, plan.judged_since),
        progress=progress,
    )
    try:
        version = store.policies.next_version(experiment.id)
        judged = version if offered is None else offered
        serving = experiment.active_policy
        serving_name = "no policy (uniform)" if serving is None else f"serving v{serving}"
        judged_name = f"learner v{version}" if offered is None else f"candidate v{offered}"
        evaluated = evaluate_cycle(experiment, scored, judged_name, serving_name)
        # a learner that continues the serving policy itself is judged once it has been offered
        waits = (
            offered is None
            and isinstance(start, bytes)
            and experiment.candidate_share > 0.0
            and plan.parent is not None
            and plan.parent.version == serving
        )
        evidence = (plan.evidence + Evidence.of(evaluated.difference)).looked() if not waits else plan.evidence
        serving_evidence = plan.serving_evidence + Evidence.of(evaluated.serving)
        guard, guard_from = Evidence(), None
        if serving is not None:
            harm = Evidence.of(evaluated.serving - evaluated.uniform)
            guard = promotion.gather_harm(plan.guard, harm)
            guard_from = (plan.guard_from if plan.guard.n else plan.start) if guard.n else None
        own_harm = Evidence.of(evaluated.learner - evaluated.uniform)
        candidate_guard = promotion.gather_harm(plan.candidate_guard, own_harm)
        rule: promotion.Rule = "non-inferiority" if _same_lineage(store, experiment, plan) else "superiority"
        judged_label = "learner" if offered is None else f"candidate v{offered}"
        verdict = promotion.decide(evidence, rule, serving_evidence.mean, experiment.promotion, judged_label)
        if waits:
            verdict = replace(verdict, promoted=False, reason=f"{rule}: {NOT_JUDGED}")
        retires = not verdict.promoted and serving is not None and promotion.retires(guard, experiment.promotion)
        seconds = time.perf_counter() - started
        lineage = _lineage(plan.parent) if plan.parent else version
        record = PolicyRecord(
            experiment=experiment.id,
            version=version,
            status="candidate",
            vw_args=settings.vw_args(),
            learning=settings.as_dict(),
            data_from=plan.start,
            data_to=plan.end,
            examples=len(examples),
            join=stats.as_dict(),
            trained_at=now,
            train_seconds=seconds,
            reason=verdict.reason,
            metrics={
                "mode": plan.mode,
                "why": plan.why,
                "parent": plan.parent.version if plan.parent else None,
                "judged": judged,
                "lineage": lineage,
                "configured": experiment.training.vw.as_dict(),
                "rule": rule,
                "evidence": evidence.as_dict(),
                "serving_evidence": serving_evidence.as_dict(),
                "guard": guard.as_dict(),
                "guard_from": guard_from.isoformat() if guard_from else None,
                # the world the serving policy learned changed: the next learner starts on the events since
                "retired_from": guard_from.isoformat() if retires and guard_from else None,
                "candidate_guard": candidate_guard.as_dict(),
                "serving_version": experiment.active_policy,
                "comparison": {
                    "low": verdict.low,
                    "high": verdict.high,
                    "threshold": verdict.threshold,
                    "mean": evidence.mean,
                    "events": evidence.n,
                },
            },
        )
        store.policies.insert(record, learner.to_bytes())
        report = report_document(
            experiment,
            evaluated,
            version=version,
            judged=judged,
            active_version=experiment.active_policy,
            now=now,
            window=(plan.start, plan.end),
            mode=plan.mode,
            evidence=evidence,
            verdict=verdict,
            online=online_comparison(_rewards_by_group(examples), experiment.promotion.confidence),
            search=found.as_dict() if found else None,
        )
        store.reports.insert(Report(experiment.id, version, now, report))
    finally:
        learner.close()
    status: CycleStatus = "active" if verdict.promoted else "rejected"
    if verdict.promoted:
        store.policies.activate(experiment.id, judged, verdict.reason)
    if judged != version or not verdict.promoted:
        reason = verdict.reason
        if verdict.promoted:
            reason = f"not judged yet: it continues candidate v{judged}, promoted on this cycle's events"
        store.policies.reject(experiment.id, version, reason)
        _offer(store, experiment, version, judged if verdict.promoted else serving, candidate_guard)
    if retires:
        _retire(store, experiment, guard)
    log.info("experiment %s: %s (%s) %s: %s", experiment.id, judged_name, plan.mode, status, verdict.reason)
    return CycleSummary(
        experiment.id, status, verdict.reason, version, plan.mode, stats.as_dict(), seconds, len(examples)
    )


def _settings(plan: Plan, experiment: Experiment, found: SearchResult | None) -> LearningSettings:
    if plan.parent is not None:
        try:
            return LearningSettings(**plan.parent.learning)
        except (TypeError, ValueError):
            return experiment.training.vw
    return found.chosen if found else experiment.training.vw


def _learner(store: Store, experiment: Experiment, plan: Plan, settings: LearningSettings) -> LearningSettings | bytes:
    """The saved learner to continue (with VW's learning state), or the settings of a new one."""
    if plan.parent is not None:
        data = saved_model(store, experiment, plan.parent.version, "learner")
        if data is not None:
            return data
        log.error(
            "experiment %s: learner v%d cannot be continued; a new one starts", experiment.id, plan.parent.version
        )
    return settings


def _same_lineage(store: Store, experiment: Experiment, plan: Plan) -> bool:
    """Whether the serving policy is an earlier version of the learner's lineage (then a
    continuing update only has to be non-inferior)."""
    if experiment.active_policy is None or plan.parent is None:
        return False
    serving = store.policies.get(experiment.id, experiment.active_policy)
    return serving is not None and _lineage(serving) == _lineage(plan.parent)


def _lineage(record: PolicyRecord) -> int:
    """The version that started a learner's lineage."""
    return int((record.metrics or {}).get("lineage", record.version))


def _offered(experiment: Experiment, plan: Plan) -> int | None:
    """The version the cycle judges as it was offered (:mod:`trainer.progressive`): the learner
    it continues, if that is the candidate whose choices got a share of the exploration while the
    cycle's events were served; else None (the cycle judges its own learner)."""
    parent = plan.parent
    if parent is None or experiment.candidate_share <= 0.0 or parent.version == experiment.active_policy:
        return None
    return parent.version if experiment.candidate_policy == parent.version else None


def _offer(store: Store, experiment: Experiment, version: int, serving: int | None, candidate_guard: Evidence) -> None:
    """Make the learner ``version`` the candidate against ``serving``, unless its own evidence
    shows it worse than uniform random (:func:`trainer.promotion.retires`): then there is none."""
    harmful = promotion.retires(candidate_guard, experiment.promotion)
    if harmful:
        low, high = candidate_guard.bounds(experiment.promotion.confidence)
        log.warning(
            "experiment %s: learner v%d − uniform random = %+.4g [%+.4g, %+.4g] over %d events: "
            "worse than uniform random, so it is no candidate",
            experiment.id,
            version,
            candidate_guard.mean,
            low,
            high,
            candidate_guard.n,
        )
    store.policies.offer_candidate(experiment.id, None if harmful else version, serving)


def _retire(store: Store, experiment: Experiment, guard: Evidence) -> None:
    """Retire the serving policy, which its own evidence shows worse than uniform random
    (:func:`trainer.promotion.retires`, on the evidence :func:`trainer.promotion.gather_harm`
    gathers)."""
    settings = experiment.promotion
    low, high = guard.bounds(settings.confidence)
    reason = (
        f"serving v{experiment.active_policy} − uniform random = {guard.mean:+.4g} [{low:+.4g}, {high:+.4g}] "
        f"({settings.confidence:.0%}, look {guard.looks}, valid however many cycles look) over {guard.n:,} events: "
        "worse than uniform random, which serves instead"
    )
    store.policies.deactivate(experiment.id, reason)
    log.warning("experiment %s: %s", experiment.id, reason)


def _search(experiment: Experiment, examples: list[Example], seed: int, clock: Clock) -> SearchResult:
    found = search(
        experiment,
        experiment.training.vw,
        sample(examples, experiment.training.search.max_events, seed),
        experiment.arm_lines,
        seed=seed,
        clock=clock,
    )
    log.info("experiment %s: search chose %s in %.1f s", experiment.id, found.chosen.vw_args(), found.seconds)
    return found


def _rewards_by_group(examples: list[Example]) -> dict[str, list[float]]:
    groups: dict[str, list[float]] = defaultdict(list)
    for e in examples:
        groups[e.group].append(e.reward)
    return groups


def run_search(
    store: Store, experiment: Experiment, now: datetime, *, seed: int = 0, clock: Clock = utcnow
) -> SearchResult:
    """Search the learning settings on the lookback window's closed-window decisions, as a new
    learner would, without training or registering anything."""
    start = closed_before(experiment, now) - timedelta(seconds=experiment.training.lookback_seconds)
    return _search(experiment, list(closed_examples(store, experiment, now, start=start)), seed, clock)
