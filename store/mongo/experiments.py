"""Experiments in MongoDB: one document per experiment, ``_id`` its id, with a revision."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from policy.experiment import Experiment
from policy.records import Clock
from store import codec
from store.errors import StaleRevision
from store.mongo import documents
from store.mongo.errors import translated
from store.records import ExperimentPatch, ExperimentState


@translated
class MongoExperiments:
    """:class:`store.repositories.Experiments` on the ``experiments`` collection."""

    def __init__(self, collection: Collection[Any], clock: Clock) -> None:
        self._experiments = collection
        self._clock = clock

    def put(self, experiment: Experiment, expected_revision: int | None = None) -> tuple[Experiment, bool]:
        now = self._clock()
        query: dict[str, Any] = {"_id": experiment.id}
        if expected_revision is not None:
            query["revision"] = expected_revision
        try:
            doc = self._experiments.find_one_and_update(
                query,
                {
                    "$set": {**codec.experiment_fields(experiment), "updated_at": now},
                    "$inc": {"revision": 1},
                    "$setOnInsert": {"created_at": now, "paused": False},
                },
                upsert=expected_revision in (None, 0),  # an upsert of revision 0 inserts revision 1
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError as exc:  # a concurrent creation won
            raise StaleRevision(experiment.id) from exc
        if doc is None:
            raise StaleRevision(experiment.id)
        return codec.experiment(doc), doc["revision"] == 1

    def update(
        self, experiment_id: str, patch: ExperimentPatch, expected_revision: int | None = None
    ) -> Experiment | None:
        query: dict[str, Any] = {"_id": experiment_id}
        if expected_revision is not None:
            query["revision"] = expected_revision
        doc = self._experiments.find_one_and_update(
            query,
            {"$set": {**documents.patch_fields(patch), "updated_at": self._clock()}, "$inc": {"revision": 1}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            if expected_revision is not None and self._experiments.count_documents({"_id": experiment_id}):
                raise StaleRevision(experiment_id)
            return None
        return codec.experiment(doc)

    def insert_if_absent(self, experiment: Experiment) -> bool:
        now = self._clock()
        try:
            self._experiments.insert_one(
                {
                    "_id": experiment.id,
                    **codec.experiment_fields(experiment),
                    "revision": 1,
                    "paused": False,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        except DuplicateKeyError:
            return False
        return True

    def get(self, experiment_id: str) -> Experiment | None:
        doc = self._experiments.find_one({"_id": experiment_id})
        return codec.experiment(doc) if doc else None

    def list(self) -> list[Experiment]:
        return [codec.experiment(doc) for doc in self._experiments.find().sort("_id", ASCENDING)]

    def states(self) -> dict[str, ExperimentState]:
        cursor = self._experiments.find({}, {"revision": 1, "active_policy": 1, "candidate_policy": 1})
        return {
            d["_id"]: ExperimentState(d["revision"], d.get("active_policy"), d.get("candidate_policy")) for d in cursor
        }
