"""Decisions: which layout to show a visitor, and activation of deferred ones."""

from __future__ import annotations

import time

import orjson
from fastapi import APIRouter, Depends, Path, Response, status
from starlette.concurrency import run_in_threadpool

from mvt_service import metrics
from mvt_service.auth import require_client
from mvt_service.deps import RuntimeDep, StoreDep
from mvt_service.routing import ApiRoute, accepts_beacons
from mvt_service.runtime import Runtime
from mvt_service.schemas import ActivationOut, DecisionBody, DecisionOut

router = APIRouter(
    route_class=ApiRoute, prefix="/v1/decisions", tags=["decisions"], dependencies=[Depends(require_client)]
)


@router.post("", response_model=DecisionOut)
async def create_decision(body: DecisionBody, runtime: RuntimeDep) -> Response:
    """Choose an arm for the visitor's context, log the decision and return it."""
    return Response(await decision_answer(runtime, body), media_type="application/json")


async def decision_answer(runtime: Runtime, body: DecisionBody) -> bytes:
    """Decide for a valid request and encode the answer: what this endpoint and the fast path
    before the framework's routing (:mod:`mvt_service.fast_decisions`) both answer.

    The answer is built from validated values, so it is encoded directly: validating it against
    the response model again would only cost time on the hottest path.
    """
    started = time.perf_counter()
    decision = await runtime.decide(
        body.experiment,
        body.context,
        actions=body.actions,
        event_id=body.event_id,
        explore=body.explore,
        defer_activation=body.defer_activation,
        visitor=body.visitor,
    )
    metrics.DECISION_SECONDS.observe(time.perf_counter() - started)
    return orjson.dumps(
        {
            "event_id": decision.event_id,
            "experiment": decision.experiment,
            "action": decision.action,
            "probability": decision.probability,
            "policy_version": decision.policy_version,
            "explored": decision.explored,
        }
    )


@router.post("/{event_id}/activate", status_code=status.HTTP_202_ACCEPTED, response_model=ActivationOut)
@accepts_beacons
async def activate_decision(
    store: StoreDep,
    event_id: str = Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"),
) -> ActivationOut:
    """Record that a deferred decision's layout was shown. Like a reward, an activation may
    arrive before its decision is written; it is joined at training time. Idempotent."""
    new = await run_in_threadpool(store.events.activate, event_id, store.clock())
    return ActivationOut(event_id=event_id, duplicate=not new)
