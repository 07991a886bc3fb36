"""Experiments: create or replace, list, read, and the operator's controls (exploration, pause,
arms). Every change is audited; ``If-Match: "<revision>"`` makes a change conditional, so that
concurrent edits cannot silently overwrite each other (412 when the experiment moved on)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Response, status
from starlette.concurrency import run_in_threadpool

from mvt_service.auth import OperatorDep, Principal, require_operator
from mvt_service.deps import RuntimeDep, StoreDep
from mvt_service.errors import Conflict, Invalid, NotFound, PreconditionFailed
from mvt_service.routing import ApiRoute
from mvt_service.runtime import Runtime
from mvt_service.schemas import ArmStateBody, ExperimentBody, ExperimentOut, ExplorationChange, HoldoutBody
from policy.arms import Arm
from policy.experiment import EXPERIMENT_ID, Experiment, PromotionSettings, RewardSettings, TrainingSettings
from store.errors import StaleRevision
from store.records import AuditAction, AuditEntry, ExperimentPatch
from store.repositories import Store

router = APIRouter(
    route_class=ApiRoute, prefix="/v1/experiments", tags=["experiments"], dependencies=[Depends(require_operator)]
)

ExperimentId = Path(pattern=EXPERIMENT_ID.pattern, description="experiment id")
IfMatch = Header(None, description='only change the experiment if it is still at this revision, e.g. "3"')


def to_experiment(experiment_id: str, body: ExperimentBody) -> Experiment:
    """The domain experiment for a request body; domain rules broken give 422."""
    try:
        return Experiment.create(
            experiment_id,
            arms=None if body.arms is None else [Arm(a.id, a.features, a.enabled) for a in body.arms],
            factors=body.factors,
            exclude=body.exclude,
            default_arm=body.default_arm,
            epsilon=body.exploration.epsilon,
            candidate_share=body.exploration.candidate_share,
            reward=RewardSettings(**body.reward.model_dump()),
            training=TrainingSettings.from_dict(body.training.model_dump()),
            promotion=PromotionSettings(**body.promotion.model_dump()),
            holdout=body.holdout.fraction,
            sticky_seconds=body.sticky_seconds,
        )
    except ValueError as exc:
        raise Invalid(str(exc)) from exc


def revision_of(if_match: str | None) -> int | None:
    """The revision an ``If-Match`` header names (``"3"``, ``W/"3"`` or ``3``)."""
    if if_match is None:
        return None
    text = if_match.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise PreconditionFailed(f'If-Match must name a revision such as "3", got {if_match!r}')
    return int(text)


def existing(store: Store, experiment_id: str) -> Experiment:
    experiment = store.experiments.get(experiment_id)
    if experiment is None:
        raise NotFound(f"experiment `{experiment_id}` does not exist")
    return experiment


def audit(store: Store, who: Principal, experiment_id: str, action: AuditAction, before: Any, after: Any) -> None:
    store.audit.insert(AuditEntry(store.clock(), experiment_id, who.key_id, action, before, after))


def answer(response: Response, experiment: Experiment) -> ExperimentOut:
    response.headers["ETag"] = f'"{experiment.revision}"'
    return ExperimentOut.of(experiment)


def _stale(experiment_id: str, revision: int | None) -> PreconditionFailed:
    return PreconditionFailed(f"experiment `{experiment_id}` is no longer at revision {revision}: read it again")


EDIT_ATTEMPTS = 20
"""How often an edit without ``If-Match`` is made again from a fresh read when a concurrent
change got in first (after a random pause of up to 5 ms per attempt so far, so that contenders
spread out)."""


async def write_definition(
    store: Store, experiment_id: str, make: Callable[[Experiment | None], Experiment], if_match: str | None
) -> tuple[Experiment | None, Experiment]:
    """Write the definition ``make`` makes of the stored experiment (None before it exists),
    conditional on the revision it was made from, and return the experiment before and after.

    With ``If-Match`` that revision must be the one named, or 412. Without, a concurrent change
    makes it read and make again (``EDIT_ATTEMPTS`` times, then 409): field-level edits such as
    an arm's switch never undo another operator's edit, and never fail because of one.
    """
    expected = revision_of(if_match)
    for attempt in range(EDIT_ATTEMPTS):
        if attempt:
            await asyncio.sleep(random.uniform(0, 0.005 * attempt))
        current = await run_in_threadpool(store.experiments.get, experiment_id)
        if expected is not None and (current is None or current.revision != expected):
            raise _stale(experiment_id, expected)
        try:
            changed = make(current)
        except ValueError as exc:  # the domain's rules, e.g. the default arm stays enabled
            raise Invalid(str(exc)) from exc
        try:
            stored, _ = await run_in_threadpool(
                store.experiments.put, changed, 0 if current is None else current.revision
            )
        except StaleRevision:
            if expected is not None:
                raise _stale(experiment_id, expected) from None
            continue
        return current, stored
    raise Conflict(f"experiment `{experiment_id}` kept changing while this edit was made: send it again")


@dataclass(frozen=True)
class Edit:
    """An operator's edit of one experiment: who makes it, against which revision (``If-Match``),
    and what it goes through; every endpoint that changes an experiment takes one."""

    store: Store
    runtime: Runtime
    response: Response
    who: Principal
    experiment_id: str
    if_match: str | None

    async def write(self, make: Callable[[Experiment | None], Experiment]) -> tuple[Experiment | None, Experiment]:
        """:func:`write_definition` of what ``make`` makes, served on this worker at once."""
        before, stored = await write_definition(self.store, self.experiment_id, make, self.if_match)
        self.runtime.update(stored)
        return before, stored

    async def change(
        self, action: AuditAction, patch: ExperimentPatch, audited: Callable[[Experiment], dict[str, Any]]
    ) -> ExperimentOut:
        """Set ``patch`` atomically, audit the change (``audited`` of the experiment before and
        after) and serve it on this worker at once (the others within ``MVT_RELOAD_SECONDS``)."""
        expected = revision_of(self.if_match)
        current = await run_in_threadpool(existing, self.store, self.experiment_id)
        try:
            updated = await run_in_threadpool(self.store.experiments.update, self.experiment_id, patch, expected)
        except StaleRevision as exc:
            raise _stale(self.experiment_id, expected) from exc
        if updated is None:
            raise NotFound(f"experiment `{self.experiment_id}` does not exist")
        await self.audit(action, audited(current), audited(updated))
        self.runtime.update(updated)
        return self.answer(updated)

    async def audit(self, action: AuditAction, before: Any, after: Any) -> None:
        await run_in_threadpool(audit, self.store, self.who, self.experiment_id, action, before, after)

    def answer(self, experiment: Experiment) -> ExperimentOut:
        return answer(self.response, experiment)


async def edit_of(
    store: StoreDep,
    runtime: RuntimeDep,
    response: Response,
    who: OperatorDep,
    experiment_id: str = ExperimentId,
    if_match: str | None = IfMatch,
) -> Edit:
    return Edit(store, runtime, response, who, experiment_id, if_match)


EditDep = Annotated[Edit, Depends(edit_of)]


@router.put(
    "/{experiment_id}",
    response_model=ExperimentOut,
    responses={201: {"model": ExperimentOut, "description": "created"}},
)
async def put_experiment(body: ExperimentBody, edit: EditDep) -> ExperimentOut:
    """Create or replace an experiment (201 when created, 200 when replaced). Arms that an
    operator disabled stay disabled; pause state and the active policy are kept."""
    experiment = to_experiment(edit.experiment_id, body)

    def keep_disabled(before: Experiment | None) -> Experiment:
        if before is None:
            return experiment
        disabled = {a.id for a in before.arms if not a.enabled}
        return replace(
            experiment, arms=tuple(replace(a, enabled=a.enabled and a.id not in disabled) for a in experiment.arms)
        )

    before, stored = await edit.write(keep_disabled)
    created = before is None
    await edit.audit(
        "create" if created else "replace",
        None if before is None else ExperimentOut.of(before).model_dump(),
        ExperimentOut.of(stored).model_dump(),
    )
    edit.response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return edit.answer(stored)


@router.get("", response_model=list[ExperimentOut])
def list_experiments(store: StoreDep) -> list[ExperimentOut]:
    """Every experiment, by id."""
    return [ExperimentOut.of(e) for e in store.experiments.list()]


@router.get("/{experiment_id}", response_model=ExperimentOut)
def get_experiment(store: StoreDep, response: Response, experiment_id: str = ExperimentId) -> ExperimentOut:
    """One experiment as stored; its ``ETag`` is its revision, for ``If-Match``."""
    return answer(response, existing(store, experiment_id))


@router.patch("/{experiment_id}/exploration", response_model=ExperimentOut)
async def set_exploration(body: ExplorationChange, edit: EditDep) -> ExperimentOut:
    """Change the exploration budget, the candidate's share of it, or both; decisions use them at
    once, with no retraining."""
    changed = ExperimentPatch(epsilon=body.epsilon, candidate_share=body.candidate_share)
    if changed.is_empty():
        raise Invalid("give `epsilon`, `candidate_share` or both")
    return await edit.change(
        "set_exploration", changed, lambda e: {"epsilon": e.epsilon, "candidate_share": e.candidate_share}
    )


@router.patch("/{experiment_id}/holdout", response_model=ExperimentOut)
async def set_holdout(body: HoldoutBody, edit: EditDep) -> ExperimentOut:
    """Change the share of visitors sent to the default arm as a control group; decisions use it
    at once (and log the mixture's exact probabilities)."""
    return await edit.change("set_holdout", ExperimentPatch(holdout=body.fraction), lambda e: {"holdout": e.holdout})


@router.post("/{experiment_id}/pause", response_model=ExperimentOut)
async def pause(edit: EditDep) -> ExperimentOut:
    """Kill switch: every decision returns the default arm with probability 1 until resumed."""
    return await edit.change("pause", ExperimentPatch(paused=True), lambda e: {"paused": e.paused})


@router.post("/{experiment_id}/resume", response_model=ExperimentOut)
async def resume(edit: EditDep) -> ExperimentOut:
    """Undo a pause."""
    return await edit.change("resume", ExperimentPatch(paused=False), lambda e: {"paused": e.paused})


@router.patch("/{experiment_id}/arms/{arm:path}", response_model=ExperimentOut)
async def set_arm(body: ArmStateBody, edit: EditDep, arm: str = Path(description="arm id")) -> ExperimentOut:
    """Disable an arm (it is never returned) or enable it again. The default arm cannot be
    disabled. The change is written against the revision it was made from, so it cannot undo a
    concurrent edit (without ``If-Match`` it is made again on top of it)."""

    def switch(current: Experiment | None) -> Experiment:
        if current is None:
            raise NotFound(f"experiment `{edit.experiment_id}` does not exist")
        if arm not in current.arm_ids:
            raise NotFound(f"experiment `{edit.experiment_id}` has no arm `{arm}`")
        return replace(
            current, arms=tuple(replace(a, enabled=body.enabled) if a.id == arm else a for a in current.arms)
        )

    before, updated = await edit.write(switch)
    was = next(a.enabled for a in before.arms if a.id == arm) if before is not None else None
    await edit.audit(
        "enable_arm" if body.enabled else "disable_arm",
        {"arm": arm, "enabled": was},
        {"arm": arm, "enabled": body.enabled},
    )
    return edit.answer(updated)
