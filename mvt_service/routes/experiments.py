"""Experiments: create or replace, list, read."""

from __future__ import annotations

from fastapi import APIRouter, Path, Response, status
from starlette.concurrency import run_in_threadpool

from mvt_service.deps import RuntimeDep, StoreDep
from mvt_service.errors import Invalid, NotFound
from mvt_service.schemas import ExperimentBody, ExperimentOut
from policy.arms import Arm
from policy.experiment import EXPERIMENT_ID, Experiment, PromotionSettings, RewardSettings, TrainingSettings
from policy.learning import LearningSettings

router = APIRouter(prefix="/v1/experiments", tags=["experiments"])

ExperimentId = Path(pattern=EXPERIMENT_ID.pattern, description="experiment id")


def to_experiment(experiment_id: str, body: ExperimentBody) -> Experiment:
    """The domain experiment for a request body; domain rules broken give 422."""
    try:
        vw = LearningSettings(**body.training.vw.model_dump())
    except ValueError as exc:
        raise Invalid(f"training.vw: {exc}") from exc
    try:
        return Experiment.create(
            experiment_id,
            arms=None if body.arms is None else [Arm(a.id, a.features) for a in body.arms],
            factors=body.factors,
            exclude=body.exclude,
            default_arm=body.default_arm,
            epsilon=body.exploration.epsilon,
            reward=RewardSettings(**body.reward.model_dump()),
            training=TrainingSettings(
                interval_seconds=body.training.interval_seconds,
                min_events=body.training.min_events,
                vw=vw,
            ),
            promotion=PromotionSettings(**body.promotion.model_dump()),
        )
    except ValueError as exc:
        raise Invalid(str(exc)) from exc


@router.put("/{experiment_id}", response_model=ExperimentOut,
            responses={201: {"model": ExperimentOut, "description": "created"}})
async def put_experiment(
    body: ExperimentBody, store: StoreDep, runtime: RuntimeDep, response: Response,
    experiment_id: str = ExperimentId,
) -> ExperimentOut:
    """Create or replace an experiment (201 when created, 200 when replaced)."""
    experiment = to_experiment(experiment_id, body)
    stored, created = await run_in_threadpool(store.put_experiment, experiment)
    runtime.update(stored)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return ExperimentOut.of(stored)


@router.get("", response_model=list[ExperimentOut])
def list_experiments(store: StoreDep) -> list[ExperimentOut]:
    """Every experiment, by id."""
    return [ExperimentOut.of(e) for e in store.list_experiments()]


@router.get("/{experiment_id}", response_model=ExperimentOut)
def get_experiment(store: StoreDep, experiment_id: str = ExperimentId) -> ExperimentOut:
    """One experiment as stored."""
    experiment = store.get_experiment(experiment_id)
    if experiment is None:
        raise NotFound(f"experiment `{experiment_id}` does not exist")
    return ExperimentOut.of(experiment)
