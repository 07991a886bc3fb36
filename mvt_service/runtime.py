"""A worker's view of the experiments it serves: definitions and policies cached in memory,
refreshed from the store every few seconds, and the decision itself.

All methods run on the event loop thread, so VW models (not thread-safe) are only ever used
and closed there; store reads go to a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from prometheus_client import Counter
from starlette.concurrency import run_in_threadpool

from mvt_service import metrics
from mvt_service.errors import Conflict, Invalid, NotFound
from mvt_service.log_writer import LogWriter
from policy.decision import choose_action, fixed_choice, score_arms
from policy.experiment import Experiment
from policy.exploration import GREEDY
from policy.features import FeatureValue, context_line
from policy.model import VWModel
from policy.records import GROUPS, Decision, Group
from store.repositories import Store

log = logging.getLogger(__name__)

NO_POLICY = 0


@dataclass(frozen=True)
class ServedExperiment:
    """An experiment with its arms' VW lines, and its decision counters by serving group,
    prepared once per revision."""

    experiment: Experiment
    arm_lines: Mapping[str, str]
    enabled_lines: tuple[str, ...]
    counted: Mapping[Group, Counter]
    fallbacks: Counter
    sticky_answers: Counter
    candidate_answers: Counter

    @classmethod
    def of(cls, experiment: Experiment) -> ServedExperiment:
        lines = experiment.arm_lines
        counted = {group: metrics.DECISIONS.labels(experiment.id, group) for group in GROUPS}
        enabled = tuple(lines[a] for a in experiment.enabled_arm_ids)
        return cls(
            experiment,
            lines,
            enabled,
            counted,
            metrics.POLICY_FALLBACKS.labels(experiment.id),
            metrics.STICKY_ANSWERS.labels(experiment.id),
            metrics.CANDIDATE_DECISIONS.labels(experiment.id),
        )


@dataclass(frozen=True)
class ServedPolicy:
    version: int
    model: VWModel


Role = Literal["active", "candidate"]
"""Why a worker serves a policy: it is the experiment's active policy, or its candidate (which
takes part in decisions with ``exploration.candidate_share`` of the exploration budget)."""


class Runtime:
    """Experiments, their active and candidate policies in one worker, and the decisions made
    with them."""

    def __init__(self, store: Store, writer: LogWriter, rng: random.Random) -> None:
        self._store = store
        self._writer = writer
        self._rng = rng
        self._experiments: dict[str, ServedExperiment] = {}
        self._served: dict[Role, dict[str, ServedPolicy]] = {"active": {}, "candidate": {}}
        self.errors: dict[Role, dict[str, tuple[int, str]]] = {"active": {}, "candidate": {}}
        self._refreshing = asyncio.Lock()

    # cache -----------------------------------------------------------------------------------

    async def experiment(self, experiment_id: str) -> ServedExperiment:
        """The served experiment, read from the store on a miss.

        Raises
        ------
        NotFound
            If no experiment has this id.
        """
        served = self._experiments.get(experiment_id)
        if served is None:
            experiment = await run_in_threadpool(self._store.experiments.get, experiment_id)
            if experiment is None:
                raise NotFound(f"experiment `{experiment_id}` does not exist")
            served = self._serve(experiment)
        return served

    def _serve(self, experiment: Experiment) -> ServedExperiment:
        current = self._experiments.get(experiment.id)
        if current is not None and current.experiment.revision >= experiment.revision:
            return current
        served = ServedExperiment.of(experiment)
        self._experiments[experiment.id] = served
        metrics.EPSILON.labels(experiment.id).set(experiment.epsilon)
        return served

    def update(self, experiment: Experiment) -> None:
        """Serve a just-written experiment at once (other workers see it at their next refresh)."""
        self._serve(experiment)

    async def refresh(self) -> None:
        """Reload experiments whose revision changed, and policies whose active version or
        candidate changed: an experiment whose policy was retired without a successor goes back
        to uniform random; a candidate is loaded only while the experiment gives it a share.

        One refresh at a time: one that read the states before another applied newer ones would
        otherwise apply its stale ones after (unloading a policy just activated)."""
        async with self._refreshing:
            await self._refresh()

    async def _refresh(self) -> None:
        states = await run_in_threadpool(self._store.experiments.states)
        for experiment_id, state in states.items():
            current = self._experiments.get(experiment_id)
            if current is None or current.experiment.revision != state.revision:
                experiment = await run_in_threadpool(self._store.experiments.get, experiment_id)
                if experiment is not None:
                    current = self._serve(experiment)
            share = current.experiment.candidate_share if current is not None else 0.0
            await self._sync("active", experiment_id, state.active_policy)
            await self._sync("candidate", experiment_id, state.candidate_policy if share > 0.0 else None)

    async def _sync(self, role: Role, experiment_id: str, version: int | None) -> None:
        """Serve ``version`` in ``role`` (None: none); if it cannot be loaded keep the current
        one and record why (once per version: a broken version is not retried until another is
        wanted)."""
        served, errors = self._served[role], self.errors[role]
        current = served.get(experiment_id)
        if version is None:
            if current is not None:
                del served[experiment_id]
                current.model.close()
                self._announce(role, experiment_id, None)
            errors.pop(experiment_id, None)
            return
        if (current is not None and current.version == version) or errors.get(experiment_id, (None,))[0] == version:
            return
        data = await run_in_threadpool(self._store.policies.model, experiment_id, version)
        try:
            if data is None:
                raise ValueError("its model is missing from the store")
            model = await run_in_threadpool(VWModel.from_bytes, data)
        except ValueError as exc:
            log.error(
                "%s policy %s v%d cannot be served, keeping the previous one: %s", role, experiment_id, version, exc
            )
            errors[experiment_id] = (version, str(exc))
            return
        errors.pop(experiment_id, None)
        served[experiment_id] = ServedPolicy(version, model)
        if current is not None:
            current.model.close()
        self._announce(role, experiment_id, version)

    @staticmethod
    def _announce(role: Role, experiment_id: str, version: int | None) -> None:
        gauge = metrics.ACTIVE_POLICY if role == "active" else metrics.CANDIDATE_POLICY
        gauge.labels(experiment_id).set(version or NO_POLICY)
        if role == "active":
            served = "no policy (uniform random)" if version is None else f"policy v{version}"
            log.info("experiment %s now serves %s", experiment_id, served)
        else:
            log.info(
                "experiment %s now has %s",
                experiment_id,
                "no candidate" if version is None else f"candidate v{version}",
            )

    async def poll(self, every_seconds: float) -> None:
        """Refresh forever, and keep the log writer running; a failed refresh is logged and
        retried at the next tick."""
        while True:
            await asyncio.sleep(every_seconds)
            self._writer.ensure_running()
            try:
                await self.refresh()
            except Exception:
                log.exception("refreshing experiments and policies failed")

    def served_policies(self, role: Role = "active") -> dict[str, int]:
        """Experiment id -> version of the policy this worker serves in ``role``."""
        return {experiment_id: p.version for experiment_id, p in self._served[role].items()}

    def load_errors(self, role: Role = "active") -> dict[str, dict[str, object]]:
        """Experiment id -> the version this worker could not load in ``role``, and why."""
        return {e: {"version": v, "error": msg} for e, (v, msg) in self.errors[role].items()}

    def close(self) -> None:
        for served in self._served.values():
            for policy in served.values():
                policy.model.close()
            served.clear()

    # deciding --------------------------------------------------------------------------------

    async def decide(
        self,
        experiment_id: str,
        context: Mapping[str, FeatureValue],
        *,
        actions: Sequence[str] | None = None,
        event_id: str | None = None,
        explore: bool = True,
        defer_activation: bool = False,
        visitor: str | None = None,
    ) -> Decision:
        """Choose an arm for ``context`` and log the decision.

        With a client ``event_id`` the decision is written before it is returned, so that a
        retry with the same id, on any worker, gets the original decision back; otherwise it is
        queued for the write-behind log (and, should the queue be full, answered unlogged).

        With a ``visitor`` and the experiment's ``sticky_seconds``, the visitor's decision of
        the last ``sticky_seconds`` is answered again (same event id, arm and logged
        probability; not logged again) while its arm is still eligible, on any worker and after
        a restart: the visit is kept in the store before a new decision is logged, and parallel
        requests of one visitor agree on one (:meth:`store.repositories.EventLog.keep_visit`).

        Raises
        ------
        NotFound
            Unknown experiment.
        Invalid
            ``actions`` names an arm the experiment does not have, names one twice, or names
            only disabled arms.
        Conflict
            ``event_id`` was already used for another experiment.
        """
        served = await self.experiment(experiment_id)
        experiment = served.experiment
        if actions is None:
            eligible, lines = experiment.enabled_arm_ids, served.enabled_lines
        else:
            eligible = self._eligible(served, actions)
            lines = tuple(served.arm_lines[a] for a in eligible)
        sticky = visitor is not None and experiment.sticky_seconds > 0
        held = await run_in_threadpool(self._store.events.visit, experiment_id, visitor) if sticky and visitor else None
        if held is not None and held.until > self._store.clock() and held.decision.action in eligible:
            served.sticky_answers.inc()
            return held.decision
        policy = self._served["active"].get(experiment_id)
        strategy = experiment.strategy if explore else GREEDY
        default = eligible.index(experiment.default_arm) if experiment.default_arm in eligible else None
        group: Group
        candidate: tuple[int, list[float]] | None = None
        if experiment.paused:
            choice, group = fixed_choice(default or 0, len(eligible)), "paused"
        else:
            line = context_line(context)
            scores, fell_back = score_arms(policy.model if policy else None, line, lines)
            if fell_back:
                served.fallbacks.inc()
            share = experiment.candidate_share
            candidate = self._candidate(experiment_id, strategy.epsilon * share, line, lines)
            holdout = experiment.holdout if explore else 0.0
            candidate_scores = candidate[1] if candidate else None
            choice = choose_action(scores, strategy, self._rng, default, holdout, candidate_scores, share)
            group = "holdout" if choice.held_out else "bandit"
            if choice.by_candidate:
                served.candidate_answers.inc()
        decision = Decision(
            event_id=event_id or uuid.uuid4().hex,
            experiment=experiment_id,
            ts=self._store.clock(),
            context=dict(context),
            actions=tuple(eligible),
            action=eligible[choice.index],
            probability=choice.probability,
            pmf=tuple(choice.pmf),
            policy_version=policy.version if policy else NO_POLICY,
            epsilon=strategy.epsilon,
            explored=choice.explored,
            deferred=defer_activation,
            group=group,
            candidate_version=candidate[0] if candidate else None,
        )
        if sticky and visitor:
            until = decision.ts + timedelta(seconds=experiment.sticky_seconds)
            kept = await run_in_threadpool(self._store.events.keep_visit, visitor, decision, until, held)
            if kept is not decision:  # another request of this visitor decided first
                served.sticky_answers.inc()
                return kept
        served.counted[group].inc()
        if event_id is None:
            self._writer.log_decision(decision)
            return decision
        stored = await run_in_threadpool(self._store.events.insert_decision_once, decision)
        if stored.experiment != experiment_id:
            raise Conflict(f"`event_id` {event_id!r} was already used for experiment `{stored.experiment}`")
        return stored

    def _candidate(
        self, experiment_id: str, weight: float, line: str, lines: Sequence[str]
    ) -> tuple[int, list[float]] | None:
        """The candidate's version and scores, if it takes part in a decision that gives it
        ``weight`` (ε × share) of the traffic: the weight is positive, this worker serves a
        candidate, and its scores are finite (else the decision is made as if there were none)."""
        candidate = self._served["candidate"].get(experiment_id)
        if candidate is None or weight <= 0.0:
            return None
        scores, fell_back = score_arms(candidate.model, line, lines)
        return None if fell_back else (candidate.version, scores)

    @staticmethod
    def _eligible(served: ServedExperiment, actions: Sequence[str]) -> tuple[str, ...]:
        """The listed arms that are enabled, in experiment order."""
        unknown = [a for a in actions if a not in served.arm_lines]
        if unknown:
            raise Invalid(f"actions: unknown arm `{unknown[0]}` in experiment `{served.experiment.id}`")
        if len(set(actions)) != len(actions):
            raise Invalid("actions: an arm is listed twice")
        listed = set(actions)
        eligible = tuple(a for a in served.experiment.enabled_arm_ids if a in listed)
        if not eligible:
            raise Invalid("actions: every listed arm is disabled")
        return eligible
