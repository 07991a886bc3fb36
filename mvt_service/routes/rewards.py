"""Rewards webhook: one reward event or a batch of them."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from mvt_service.auth import require_client
from mvt_service.deps import StoreDep
from mvt_service.schemas import RewardsBody, RewardsOut
from trainer.records import Reward, utcnow

router = APIRouter(prefix="/v1/rewards", tags=["rewards"], dependencies=[Depends(require_client)])

DEFAULT_REWARD_ID = "default"


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=RewardsOut)
def post_rewards(body: RewardsBody, store: StoreDep) -> RewardsOut:
    """Store reward events, idempotently on ``(event_id, reward_id)``.

    A post without ``reward_id`` is the decision's single reward: posting it again is a
    duplicate. Several rewards of one decision (a click, then an order) need distinct
    ``reward_id``s. A reward for a decision not yet seen is kept and joined later. A batch is
    validated whole before anything is written.
    """
    now = utcnow()
    rewards = [Reward(i.event_id, i.reward_id or DEFAULT_REWARD_ID, i.reward, now) for i in body]
    accepted, duplicates = store.insert_rewards(rewards)
    return RewardsOut(accepted=accepted, duplicates=duplicates)
