"""Rewards webhook: one reward event or a batch of them."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from mvt_service import metrics
from mvt_service.auth import require_client
from mvt_service.deps import ServicesDep
from mvt_service.routing import ApiRoute, accepts_beacons
from mvt_service.schemas import RewardsBody, RewardsOut
from policy.records import Reward

router = APIRouter(route_class=ApiRoute, prefix="/v1/rewards", tags=["rewards"], dependencies=[Depends(require_client)])

DEFAULT_REWARD_ID = "default"


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=RewardsOut)
@accepts_beacons
async def post_rewards(body: RewardsBody, services: ServicesDep) -> RewardsOut:
    """Queue reward events for the write-behind log; they are stored idempotently on
    ``(event_id, reward_id)``.

    A post without ``reward_id`` is the decision's single reward: posting it again stores
    nothing more. Several rewards of one decision (a click, then an order) need distinct
    ``reward_id``s. A reward for a decision not yet seen is kept and joined later. A batch is
    validated whole, then queued whole, or refused whole with 503 when the log is backed up.
    """
    now = services.store.clock()
    services.writer.log_rewards([Reward(i.event_id, i.reward_id or DEFAULT_REWARD_ID, i.reward, now) for i in body])
    metrics.REWARDS.inc(len(body))
    return RewardsOut(accepted=len(body))
