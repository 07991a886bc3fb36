"""The policy registry of an experiment: list, activate (and roll back), train now, search now."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path
from starlette.concurrency import run_in_threadpool

from mvt_service.auth import OperatorDep, require_operator
from mvt_service.deps import ServicesDep, StoreDep
from mvt_service.errors import Conflict, Invalid, NotFound
from mvt_service.routes.experiments import ExperimentId, audit, existing
from mvt_service.routing import ApiRoute
from mvt_service.schemas import CycleOut, PolicyOut, SearchOut
from trainer.schedule import TrainingBusy, TrainingFailed

router = APIRouter(
    route_class=ApiRoute,
    prefix="/v1/experiments/{experiment_id}",
    tags=["policies"],
    dependencies=[Depends(require_operator)],
)


@router.get("/policies", response_model=list[PolicyOut])
def list_policies(store: StoreDep, experiment_id: str = ExperimentId) -> list[PolicyOut]:
    """Every trained policy of the experiment, newest first, with its data window and status."""
    existing(store, experiment_id)
    return [PolicyOut.of(p) for p in store.policies.list(experiment_id)]


@router.post("/policies/{version}/activate", response_model=PolicyOut)
async def activate_policy(
    store: StoreDep,
    services: ServicesDep,
    who: OperatorDep,
    experiment_id: str = ExperimentId,
    version: int = Path(ge=1, le=2**63 - 1, description="policy version (a 64-bit integer, as the stores keep it)"),
) -> PolicyOut:
    """Serve this policy version now, bypassing the promotion gate (also the rollback). Every
    worker switches within ``MVT_RELOAD_SECONDS``; this one at once."""
    before = await run_in_threadpool(existing, store, experiment_id)
    record = await run_in_threadpool(store.policies.activate, experiment_id, version, "activated by hand")
    if record is None:
        raise NotFound(f"policy v{version} of experiment `{experiment_id}` does not exist")
    await run_in_threadpool(
        audit,
        store,
        who,
        experiment_id,
        "activate_policy",
        {"active_policy": before.active_policy},
        {"active_policy": version},
    )
    await services.runtime.refresh()
    return PolicyOut.of(record)


@router.post("/train", response_model=CycleOut)
async def train(
    store: StoreDep, services: ServicesDep, who: OperatorDep, experiment_id: str = ExperimentId
) -> CycleOut:
    """Run one training cycle now and return its summary (409 if another trainer is at it)."""
    experiment = await run_in_threadpool(existing, store, experiment_id)
    try:
        summary = await run_in_threadpool(services.scheduler.train_now, experiment)
    except TrainingBusy as exc:
        raise Conflict(str(exc)) from exc
    except TrainingFailed as exc:
        raise Invalid(f"{exc}; it is in the audit log, and the schedule retries it with back-off") from exc
    await run_in_threadpool(
        audit,
        store,
        who,
        experiment_id,
        "train",
        {"active_policy": experiment.active_policy},
        {"status": summary.status, "version": summary.version, "reason": summary.reason},
    )
    await services.runtime.refresh()
    return CycleOut.of(summary)


@router.post("/search", response_model=SearchOut)
async def search(store: StoreDep, services: ServicesDep, experiment_id: str = ExperimentId) -> SearchOut:
    """Search the learning settings on the experiment's training data now, as the next training
    cycle would, and return every setting tried with its estimate; nothing is trained for
    serving or registered (409 if a trainer is at the experiment)."""
    experiment = await run_in_threadpool(existing, store, experiment_id)
    try:
        result = await run_in_threadpool(services.scheduler.search_now, experiment)
    except TrainingBusy as exc:
        raise Conflict(str(exc)) from exc
    except TrainingFailed as exc:
        raise Invalid(str(exc)) from exc
    return SearchOut.of(result)
