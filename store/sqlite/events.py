"""The event log in SQLite: decisions, rewards, activations, the events waiting for their
decision (``pending``) and visits, each a table with the indexes its reads use.

A decision's fields other than its keys are one JSON column; rewards and activations carry
their decision's experiment and time (``decision_ts``), so that a training cycle reads them by
range on an index. A reward's ``key`` is ``"<event_id> <reward_id>"``, as the MongoDB backend's
``_id``, so both read rewards in the same order. An event whose decision is not stored yet
waits in ``pending`` until its decision is written (adopted, in the same transaction) or its
expiry, ``pending_seconds`` after the first event of its decision arrived (:meth:`sweep`).
Retention, when set, is an indexed delete at each sweep.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

import orjson

from policy.records import (
    Decision,
    Reward,
    Unreadable,
    check_decision,
    check_reward,
    record_of,
    record_values,
)
from store import visits
from store.codec import reader
from store.records import EVENT_KINDS, EventKind, Key, Sweep, Visit
from store.sqlite.database import PAGE, Database, insert_rows, ms, time_of, translated

R = TypeVar("R")
NEW_VISIT = "INSERT OR IGNORE INTO visits (until, event_id, ts, decision, experiment, visitor) VALUES (?,?,?,?,?,?)"
ACTIVATION_KEY = "activation"
"""The key of a decision's activation among the events waiting for it (a reward's is its key)."""
NO_START = -(2**62)
VARIABLES = 900
"""Ids per ``IN (...)`` list (SQLite binds at most 32,766 variables per statement)."""


def reward_key(event_id: str, reward_id: str) -> str:
    return f"{event_id} {reward_id}"


def decision_body(d: Decision) -> bytes:
    values = record_values(d)
    for key in ("event_id", "experiment", "ts"):
        del values[key]
    return orjson.dumps(values)


def decision_of(event_id: str, experiment: str, ts: int, body: bytes) -> Decision:
    return record_of(
        Decision, {**orjson.loads(body), "event_id": event_id, "experiment": experiment, "ts": time_of(ts)}
    )


def reward_row(r: Reward, experiment: str, decision_ts: int) -> tuple[Any, ...]:
    return (reward_key(r.event_id, r.reward_id), r.event_id, r.reward_id, experiment, decision_ts, ms(r.ts), r.reward)


def reward_of(row: Any) -> Reward:
    _, event_id, reward_id, experiment, decision_ts, ts, reward = row
    return Reward(event_id, reward_id, reward, time_of(ts), experiment, time_of(decision_ts))


def _decision_row(r: Any) -> Decision:
    """A row ``(ts, event_id, experiment, body)`` as a decision."""
    return decision_of(r[1], r[2], r[0], r[3])


def _reward_row(r: Any) -> Reward:
    """A row ``(decision_ts, key, event_id, reward_id, experiment, ts, reward)`` as a reward."""
    return reward_of((r[1], r[2], r[3], r[4], r[0], r[5], r[6]))


def _key(r: Any) -> str:
    return str(r[1])


_read_decision = reader(_decision_row, check_decision, _key)
_read_reward = reader(_reward_row, check_reward, _key)


@translated
class SqliteEventLog:
    """:class:`store.repositories.EventLog` on the tables the module names."""

    def __init__(self, db: Database, pending_seconds: float) -> None:
        self._db = db
        self._pending_seconds = pending_seconds

    # decisions and visits ----------------------------------------------------------------------

    def insert_decisions(self, decisions: Sequence[Decision]) -> int:
        if not decisions:
            return 0
        rows = [(d.event_id, d.experiment, ms(d.ts), decision_body(d)) for d in decisions]
        with self._db.transaction() as c:
            new = insert_rows(c, "decisions", rows)
            _adopt(c, {d.event_id for d in decisions})
        return new

    def insert_decision_once(self, decision: Decision) -> Decision:
        with self._db.transaction() as c:
            inserted = c.execute(
                "INSERT OR IGNORE INTO decisions VALUES (?, ?, ?, ?)",
                (decision.event_id, decision.experiment, ms(decision.ts), decision_body(decision)),
            ).rowcount
            if inserted:
                _adopt(c, {decision.event_id})
                return decision
            stored = _decision(c, decision.event_id)
        assert stored is not None
        return stored

    def get_decision(self, event_id: str) -> Decision | None:
        return _decision(self._db.connection(), event_id)

    def visit(self, experiment_id: str, visitor: str) -> Visit | None:
        row = (
            self._db.connection()
            .execute(
                "SELECT until, event_id, ts, decision FROM visits WHERE experiment = ? AND visitor = ?",
                (experiment_id, visitor),
            )
            .fetchone()
        )
        if row is None:
            return None
        until, event_id, ts, body = row
        return Visit(decision_of(event_id, experiment_id, ts, body), time_of(until))

    def keep_visit(self, visitor: str, decision: Decision, until: datetime, replacing: Visit | None) -> Decision:
        body = decision_body(decision)
        values = (ms(until), decision.event_id, ms(decision.ts), body, decision.experiment, visitor)

        def swap(replaced: Visit | None) -> bool:
            if replaced is None:
                return bool(self._db.connection().execute(NEW_VISIT, values).rowcount)
            query = (
                "UPDATE visits SET until = ?, event_id = ?, ts = ?, decision = ? "
                "WHERE experiment = ? AND visitor = ? AND event_id = ?"
            )
            return bool(self._db.connection().execute(query, (*values, replaced.decision.event_id)).rowcount)

        return visits.keep(decision, replacing, swap, lambda: self.visit(decision.experiment, visitor))

    def decisions_between(
        self, experiment_id: str, start: datetime | None, end: datetime
    ) -> Iterator[Decision | Unreadable]:
        rows = self._pages(
            "SELECT ts, event_id, experiment, body FROM decisions WHERE experiment = ? AND ts < ? "
            "AND (ts, event_id) > (?, ?) ORDER BY ts, event_id LIMIT ?",
            experiment_id,
            start,
            end,
        )
        return (_read_decision(row) for row in rows)

    # events after a decision -----------------------------------------------------------------

    def activate(self, event_id: str, ts: datetime) -> bool:
        with self._db.transaction() as c:
            known = _decision_keys(c, [event_id])
            if event_id not in known:
                body = orjson.dumps(ms(ts))
                return _wait(c, "activation", event_id, ACTIVATION_KEY, body, ts, self._pending_seconds)
            experiment, decision_ts = known[event_id]
            return bool(
                c.execute(
                    "INSERT OR IGNORE INTO activations VALUES (?, ?, ?, ?)", (event_id, experiment, decision_ts, ms(ts))
                ).rowcount
            )

    def activations_between(self, experiment_id: str, start: datetime | None, end: datetime) -> Iterator[Key]:
        rows = self._pages(
            "SELECT decision_ts, event_id FROM activations WHERE experiment = ? AND decision_ts < ? "
            "AND (decision_ts, event_id) > (?, ?) ORDER BY decision_ts, event_id LIMIT ?",
            experiment_id,
            start,
            end,
        )
        return ((time_of(r[0]), r[1]) for r in rows)

    def insert_rewards(self, rewards: Sequence[Reward]) -> tuple[int, int]:
        if not rewards:
            return 0, 0
        with self._db.transaction() as c:
            known = _decision_keys(c, [r.event_id for r in rewards])
            matched = [reward_row(r, *known[r.event_id]) for r in rewards if r.event_id in known]
            new = insert_rows(c, "rewards", matched)
            duplicates = len(matched) - new
            for r in rewards:
                if r.event_id not in known:
                    key = reward_key(r.event_id, r.reward_id)
                    body = orjson.dumps([r.reward, ms(r.ts)])
                    waited = _wait(c, "reward", r.event_id, key, body, r.ts, self._pending_seconds)
                    new, duplicates = new + waited, duplicates + (not waited)
        return new, duplicates

    def rewards_between(
        self, experiment_id: str, start: datetime | None, end: datetime
    ) -> Iterator[Reward | Unreadable]:
        rows = self._pages(
            "SELECT decision_ts, key, event_id, reward_id, experiment, ts, reward FROM rewards "
            "WHERE experiment = ? AND decision_ts < ? AND (decision_ts, key) > (?, ?) "
            "ORDER BY decision_ts, key LIMIT ?",
            experiment_id,
            start,
            end,
        )
        return (_read_reward(row) for row in rows)

    def rewards_of(self, event_id: str) -> list[Reward]:
        c = self._db.connection()
        matched = [
            reward_of(row)
            for row in c.execute(
                "SELECT key, event_id, reward_id, experiment, decision_ts, ts, reward FROM rewards "
                "WHERE key >= ? AND key < ?",
                (reward_key(event_id, ""), f"{event_id}!"),
            )
        ]
        waiting = c.execute("SELECT key, body FROM pending WHERE event_id = ? AND kind = 'reward'", (event_id,))
        matched += [_waiting_reward(event_id, key, body) for key, body in waiting]
        return sorted(matched, key=lambda r: r.reward_id)

    def reward_ids(self) -> set[tuple[str, str]]:
        c = self._db.connection()
        matched = set(c.execute("SELECT event_id, reward_id FROM rewards"))
        waiting = {
            (event_id, key.removeprefix(f"{event_id} "))
            for event_id, key in c.execute("SELECT event_id, key FROM pending WHERE kind = 'reward'")
        }
        return matched | waiting

    # waiting events, expiry ---------------------------------------------------------------------

    def sweep(self, now: datetime) -> Sweep:
        with self._db.transaction() as c:
            ids = [row[0] for row in c.execute("SELECT DISTINCT event_id FROM pending")]
            adopted = 0
            for i in range(0, len(ids), VARIABLES):
                adopted += _adopt(c, set(ids[i : i + VARIABLES]))
            expired = dict(
                c.execute(
                    "SELECT kind, COUNT(*) FROM pending WHERE expires_at <= ? GROUP BY kind", (ms(now),)
                ).fetchall()
            )
            c.execute("DELETE FROM pending WHERE expires_at <= ?", (ms(now),))
            waiting = c.execute("SELECT COUNT(*) FROM pending").fetchone()[0]
            c.execute("DELETE FROM visits WHERE until <= ?", (ms(now),))
            retention = c.execute("SELECT value FROM settings WHERE name = 'retention_days'").fetchone()
            if retention is not None:
                cut = ms(now - timedelta(days=int(retention[0])))
                for table in ("decisions", "rewards", "activations"):
                    c.execute(f"DELETE FROM {table} WHERE ts < ?", (cut,))
        return Sweep(adopted, {kind: int(expired.get(kind, 0)) for kind in EVENT_KINDS}, waiting)

    def _pages(self, query: str, experiment_id: str, start: datetime | None, end: datetime) -> Iterator[Any]:
        """The rows of a keyset-paged ``query`` (its parameters: experiment, end, the last key
        read, the page size), fetched a page at a time on the connection of the thread that
        reads them: a reader may be consumed lazily, beside others, from any thread."""
        last: tuple[Any, Any] = (NO_START if start is None else ms(start), "")  # (ids are never empty)
        while True:
            rows = self._db.connection().execute(query, (experiment_id, ms(end), *last, PAGE)).fetchall()
            yield from rows
            if len(rows) < PAGE:
                return
            last = (rows[-1][0], rows[-1][1])


def _decision(c: sqlite3.Connection, event_id: str) -> Decision | None:
    row = c.execute("SELECT event_id, experiment, ts, body FROM decisions WHERE event_id = ?", (event_id,)).fetchone()
    return None if row is None else decision_of(*row)


def _waiting_reward(event_id: str, key: str, body: bytes) -> Reward:
    reward, ts = orjson.loads(body)
    return Reward(event_id, key.removeprefix(f"{event_id} "), reward, time_of(ts))


def _decision_keys(c: sqlite3.Connection, event_ids: Iterable[str]) -> dict[str, tuple[str, int]]:
    """``(experiment, ts)`` of the stored decisions among ``event_ids``, read as one JSON row
    per query (one step: see :func:`store.sqlite.database.insert_rows`)."""
    ids = list(set(event_ids))
    found: dict[str, tuple[str, int]] = {}
    for i in range(0, len(ids), VARIABLES):
        part = ids[i : i + VARIABLES]
        query = (
            "SELECT json_group_array(json_array(event_id, experiment, ts)) FROM decisions "
            f"WHERE event_id IN ({','.join('?' * len(part))})"
        )
        found.update((e, (experiment, ts)) for e, experiment, ts in orjson.loads(c.execute(query, part).fetchone()[0]))
    return found


def _wait(
    c: sqlite3.Connection, kind: EventKind, event_id: str, key: str, body: bytes, ts: datetime, seconds: float
) -> bool:
    """Keep an event until its decision is stored, expiring ``seconds`` after the first event of
    its decision arrived; False if it already waits."""
    expires = ms(ts + timedelta(seconds=seconds))
    return bool(
        c.execute(
            "INSERT OR IGNORE INTO pending VALUES (?, ?, ?, ?, "
            "COALESCE((SELECT MIN(expires_at) FROM pending WHERE event_id = ?), ?))",
            (event_id, key, kind, body, event_id, expires),
        ).rowcount
    )


def _adopt(c: sqlite3.Connection, event_ids: set[str]) -> int:
    """Move the events waiting for these decisions, if stored, to their tables; return how many."""
    if not event_ids:
        return 0
    placeholders = ",".join("?" * len(event_ids))
    waiting = c.execute(
        f"SELECT p.event_id, p.key, p.kind, p.body, d.experiment, d.ts FROM pending p "
        f"JOIN decisions d ON d.event_id = p.event_id WHERE p.event_id IN ({placeholders})",
        list(event_ids),
    ).fetchall()
    if not waiting:
        return 0
    rewards, activations = [], []
    for event_id, key, kind, body, experiment, decision_ts in waiting:
        if kind == "reward":
            rewards.append(reward_row(_waiting_reward(event_id, key, body), experiment, decision_ts))
        else:
            activations.append((event_id, experiment, decision_ts, orjson.loads(body)))
    insert_rows(c, "rewards", rewards)
    insert_rows(c, "activations", activations)
    adopted = list({row[0] for row in waiting})
    c.execute(f"DELETE FROM pending WHERE event_id IN ({','.join('?' * len(adopted))})", adopted)
    return len(waiting)
