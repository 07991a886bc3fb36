"""What every backend stores the same way: an experiment's definition as JSON values.

User-supplied mappings (contexts, arm features, factors) are kept as ``[name, value]`` pairs,
never as keys, so that names containing ``.`` or starting with ``$`` are stored faithfully by a
document store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict
from typing import Any, TypeVar

from policy.arms import Arm
from policy.experiment import Experiment, PromotionSettings, RewardSettings, TrainingSettings
from policy.records import Unreadable
from store.records import Report

R = TypeVar("R")
S = TypeVar("S")


def pairs(mapping: Mapping[str, Any]) -> list[list[Any]]:
    return [[k, v] for k, v in mapping.items()]


def mapping(items: Iterable[Any]) -> dict[str, Any]:
    return dict(items)


def experiment_fields(e: Experiment) -> dict[str, Any]:
    """The fields of an experiment's definition (not its revision or operator state)."""
    return {
        "arms": [{"id": a.id, "features": pairs(a.features), "enabled": a.enabled} for a in e.arms],
        "holdout": e.holdout,
        "sticky_seconds": e.sticky_seconds,
        "factors": None if e.factors is None else pairs({k: list(v) for k, v in e.factors.items()}),
        "exclude": [pairs(x) for x in e.exclude],
        "default_arm": e.default_arm,
        "exploration": {"epsilon": e.epsilon, "candidate_share": e.candidate_share},
        "reward": asdict(e.reward),
        "training": e.training.to_dict(),
        "promotion": asdict(e.promotion),
    }


def experiment(doc: Mapping[str, Any]) -> Experiment:
    return Experiment(
        id=doc["_id"],
        arms=tuple(Arm(a["id"], mapping(a["features"]), a["enabled"]) for a in doc["arms"]),
        default_arm=doc["default_arm"],
        epsilon=doc["exploration"]["epsilon"],
        candidate_share=doc["exploration"].get("candidate_share", 0.0),
        reward=RewardSettings(**doc["reward"]),
        factors=None if doc["factors"] is None else mapping(doc["factors"]),
        exclude=tuple(mapping(x) for x in doc["exclude"]),
        training=TrainingSettings.from_dict(doc["training"]),
        promotion=PromotionSettings(**doc["promotion"]),
        revision=doc["revision"],
        active_policy=doc.get("active_policy"),
        candidate_policy=doc.get("candidate_policy"),
        paused=doc["paused"],
        holdout=doc["holdout"],
        sticky_seconds=doc.get("sticky_seconds", 0.0),
    )


def report_doc(r: Report) -> dict[str, Any]:
    """A report's document as every backend keeps it: its own fields, with the record's keys
    under the names the report gives them (``experiment``, ``candidate_version``,
    ``created_at``)."""
    return {**r.document, "experiment": r.experiment, "candidate_version": r.version, "created_at": r.created}


def report(doc: Mapping[str, Any]) -> Report:
    found = {k: v for k, v in doc.items() if k != "_id"}
    return Report(found["experiment"], found["candidate_version"], found["created_at"], found)


def reader(
    decode: Callable[[S], R], check: Callable[[R], None], ident: Callable[[S], str]
) -> Callable[[S], R | Unreadable]:
    """A reader of stored rows or documents into checked records, or into why one is none
    (:class:`policy.records.Unreadable`, named by ``ident`` of what was stored)."""

    def read(stored: S) -> R | Unreadable:
        try:
            found = decode(stored)
            check(found)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            return Unreadable(ident(stored), f"{type(exc).__name__}: {exc}")
        return found

    return read
