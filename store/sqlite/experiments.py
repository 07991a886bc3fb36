"""Experiments in SQLite: a row each, the definition as JSON (:mod:`store.codec`)."""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from policy.experiment import Experiment
from policy.records import Clock
from store import codec
from store.errors import StaleRevision
from store.records import ExperimentPatch, ExperimentState
from store.sqlite.database import Database, ms, translated

COLUMNS = "id, revision, definition, paused, active_policy, candidate_policy"


@translated
class SqliteExperiments:
    """:class:`store.repositories.Experiments` on the ``experiments`` table."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def put(self, experiment: Experiment, expected_revision: int | None = None) -> tuple[Experiment, bool]:
        now = ms(self._clock())
        definition = orjson.dumps(codec.experiment_fields(experiment)).decode()
        with self._db.transaction() as c:
            row = c.execute("SELECT revision FROM experiments WHERE id = ?", (experiment.id,)).fetchone()
            if row is None:
                if expected_revision not in (None, 0):
                    raise StaleRevision(experiment.id)
                c.execute(
                    "INSERT INTO experiments VALUES (?, 1, ?, 0, NULL, NULL, ?, ?)",
                    (experiment.id, definition, now, now),
                )
            else:
                if expected_revision is not None and expected_revision != row[0]:
                    raise StaleRevision(experiment.id)
                c.execute(
                    "UPDATE experiments SET revision = revision + 1, definition = ?, updated_at = ? WHERE id = ?",
                    (definition, now, experiment.id),
                )
            stored = _get(c, experiment.id)
        assert stored is not None
        return stored, stored.revision == 1

    def update(
        self, experiment_id: str, patch: ExperimentPatch, expected_revision: int | None = None
    ) -> Experiment | None:
        with self._db.transaction() as c:
            row = c.execute("SELECT revision, definition FROM experiments WHERE id = ?", (experiment_id,)).fetchone()
            if row is None:
                return None
            if expected_revision is not None and expected_revision != row[0]:
                raise StaleRevision(experiment_id)
            definition = orjson.loads(row[1])
            exploration = definition["exploration"]
            if patch.epsilon is not None:
                exploration["epsilon"] = patch.epsilon
            if patch.candidate_share is not None:
                exploration["candidate_share"] = patch.candidate_share
            if patch.holdout is not None:
                definition["holdout"] = patch.holdout
            c.execute(
                "UPDATE experiments SET revision = revision + 1, definition = ?, paused = COALESCE(?, paused), "
                "updated_at = ? WHERE id = ?",
                (orjson.dumps(definition).decode(), patch.paused, ms(self._clock()), experiment_id),
            )
            return _get(c, experiment_id)

    def insert_if_absent(self, experiment: Experiment) -> bool:
        now = ms(self._clock())
        definition = orjson.dumps(codec.experiment_fields(experiment)).decode()
        cursor = self._db.connection().execute(
            "INSERT OR IGNORE INTO experiments VALUES (?, 1, ?, 0, NULL, NULL, ?, ?)",
            (experiment.id, definition, now, now),
        )
        return cursor.rowcount == 1

    def get(self, experiment_id: str) -> Experiment | None:
        return _get(self._db.connection(), experiment_id)

    def list(self) -> list[Experiment]:
        rows = self._db.connection().execute(f"SELECT {COLUMNS} FROM experiments ORDER BY id")
        return [_experiment(row) for row in rows]

    def states(self) -> dict[str, ExperimentState]:
        rows = self._db.connection().execute("SELECT id, revision, active_policy, candidate_policy FROM experiments")
        return {row[0]: ExperimentState(row[1], row[2], row[3]) for row in rows}


def _get(c: sqlite3.Connection, experiment_id: str) -> Experiment | None:
    row = c.execute(f"SELECT {COLUMNS} FROM experiments WHERE id = ?", (experiment_id,)).fetchone()
    return None if row is None else _experiment(row)


def _experiment(row: Any) -> Experiment:
    doc = orjson.loads(row[2])
    doc.update(_id=row[0], revision=row[1], paused=bool(row[3]), active_policy=row[4], candidate_policy=row[5])
    return codec.experiment(doc)
