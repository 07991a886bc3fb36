"""Stored policy models the trainer reads: the learner a cycle continues, and the serving
policy a cycle compares with and the console weighs features by."""

from __future__ import annotations

import logging

from policy.experiment import Experiment
from policy.model import VWModel
from store.repositories import Store

log = logging.getLogger(__name__)


def saved_model(store: Store, experiment: Experiment, version: int, role: str) -> bytes | None:
    """Policy ``version``'s saved model if VW can load it, else None (logged as the ``role``'s)."""
    data = store.policies.model(experiment.id, version)
    if data is None:
        return None
    try:
        VWModel.from_bytes(data).close()
    except ValueError:
        log.exception("experiment %s: %s v%d cannot be loaded", experiment.id, role, version)
        return None
    return data


def serving_model(store: Store, experiment: Experiment) -> bytes | None:
    """The serving policy's saved model, or None if there is none or it cannot be loaded (then
    uniform scores stand for it, as a worker without a policy would serve)."""
    if experiment.active_policy is None:
        return None
    return saved_model(store, experiment, experiment.active_policy, "active policy")
