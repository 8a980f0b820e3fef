"""The engine's SQLite store (WAL): instances, histories, the inbox of pending messages and timers, activities.

One connection, serialised by the engine's lock. Each orchestrator turn commits in one transaction, so a
process killed at any point leaves either the whole turn or none of it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devhost.engine.errors import EngineError
from devhost.engine.history import Event

# A timer is due when its time has come; the microsecond of slack absorbs float rounding of timestamps.
_DUE_SLACK_S = 1e-6

_SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (
    instance_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    runtime_status TEXT NOT NULL,
    input TEXT,
    output TEXT,
    custom_status TEXT,
    created_at TEXT NOT NULL,
    last_updated_at TEXT NOT NULL,
    failure TEXT,
    parent_instance_id TEXT,
    parent_execution_id TEXT,
    parent_task_id INTEGER,
    recorded_actions TEXT NOT NULL DEFAULT '[]',
    generation INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS instances_by_created ON instances (created_at);
CREATE TABLE IF NOT EXISTS history (
    instance_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (instance_id, seq)
);
CREATE TABLE IF NOT EXISTS inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    execution_id TEXT,
    due_at REAL,
    timer_id INTEGER,
    kind TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_by_due ON inbox (due_at);
CREATE INDEX IF NOT EXISTS inbox_by_instance ON inbox (instance_id, id);
CREATE TABLE IF NOT EXISTS activities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    task_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    input TEXT,
    lease_owner TEXT,
    lease_until REAL,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS activities_by_instance ON activities (instance_id);
"""

INSTANCE_COLUMNS = (
    "instance_id",
    "name",
    "execution_id",
    "runtime_status",
    "input",
    "output",
    "custom_status",
    "created_at",
    "last_updated_at",
    "failure",
    "parent_instance_id",
    "parent_execution_id",
    "parent_task_id",
    "recorded_actions",
    "generation",
)


@dataclass
class InboxMessage:
    """A message waiting for an instance: a history event to deliver, a start, or a termination."""

    id: int
    instance_id: str
    execution_id: str | None
    kind: str
    body: dict[str, Any]


@dataclass
class ActivityItem:
    """An activity to run (at least once) for an orchestration task."""

    id: int
    instance_id: str
    execution_id: str
    task_id: int
    name: str
    input_json: str | None
    attempts: int
    lease: str


@dataclass
class NewMessage:
    """A message to put in an inbox (`due_at` in epoch seconds for timers)."""

    instance_id: str
    kind: str
    body: dict[str, Any]
    execution_id: str | None = None
    due_at: float | None = None
    timer_id: int | None = None


@dataclass
class NewActivity:
    """An activity work item to create."""

    instance_id: str
    execution_id: str
    task_id: int
    name: str
    input_json: str | None


class Store:
    """SQLite persistence of everything the engine must not forget."""

    def __init__(self, path: Path | None) -> None:
        target = ":memory:" if path is None else str(path)
        try:
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            if path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise EngineError(f"cannot open the engine store {target}: {exc}") from None

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All writes inside commit together, or none of them."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # instances

    def get_instance(self, instance_id: str) -> dict[str, Any] | None:
        """The instance row as a dict, or None."""
        row = self._db.execute("SELECT * FROM instances WHERE instance_id = ?", (instance_id,)).fetchone()
        return dict(row) if row is not None else None

    def put_instance(self, db: sqlite3.Connection, row: dict[str, Any]) -> None:
        """Insert or replace an instance row (inside a transaction)."""
        placeholders = ", ".join("?" for _ in INSTANCE_COLUMNS)
        db.execute(
            f"INSERT OR REPLACE INTO instances ({', '.join(INSTANCE_COLUMNS)}) VALUES ({placeholders})",  # noqa: S608
            tuple(row.get(column) for column in INSTANCE_COLUMNS),
        )

    def query_instances(
        self,
        *,
        statuses: Iterable[str] | None = None,
        prefix: str | None = None,
        created_from: str | None = None,
        created_to: str | None = None,
        after_id: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Instance rows matching every given filter, ordered by instance id."""
        clauses: list[str] = []
        params: list[Any] = []
        status_list = list(statuses or [])
        if status_list:
            clauses.append(f"runtime_status IN ({', '.join('?' for _ in status_list)})")
            params.extend(status_list)
        if prefix:
            clauses.append("substr(instance_id, 1, ?) = ?")
            params.extend([len(prefix), prefix])
        if created_from:
            clauses.append("created_at >= ?")
            params.append(created_from)
        if created_to:
            clauses.append("created_at <= ?")
            params.append(created_to)
        if after_id is not None:
            clauses.append("instance_id > ?")
            params.append(after_id)
        sql = "SELECT * FROM instances"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY instance_id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [dict(row) for row in self._db.execute(sql, params)]

    def delete_instance(self, db: sqlite3.Connection, instance_id: str) -> None:
        """Remove an instance with its history, messages and work (inside a transaction)."""
        for table in ("instances", "history", "inbox", "activities"):
            db.execute(f"DELETE FROM {table} WHERE instance_id = ?", (instance_id,))  # noqa: S608

    def unfinished_instances(self) -> list[str]:
        """Ids of instances that are pending or running."""
        rows = self._db.execute("SELECT instance_id FROM instances WHERE runtime_status IN ('Pending', 'Running')")
        return [row[0] for row in rows]

    # history

    def load_history(self, instance_id: str) -> list[Event]:
        """The current execution's history, oldest first."""
        rows = self._db.execute("SELECT event FROM history WHERE instance_id = ? ORDER BY seq", (instance_id,))
        return [json.loads(row[0]) for row in rows]

    def append_history(self, db: sqlite3.Connection, instance_id: str, start_seq: int, events: list[Event]) -> None:
        """Append events at positions start_seq, start_seq + 1, ... (inside a transaction)."""
        db.executemany(
            "INSERT INTO history (instance_id, seq, event) VALUES (?, ?, ?)",
            [(instance_id, start_seq + i, json.dumps(ev)) for i, ev in enumerate(events)],
        )

    def clear_history(self, db: sqlite3.Connection, instance_id: str) -> None:
        """Forget an instance's history (continue-as-new starts a fresh one)."""
        db.execute("DELETE FROM history WHERE instance_id = ?", (instance_id,))

    # inbox

    def add_messages(self, db: sqlite3.Connection, messages: Iterable[NewMessage]) -> None:
        """Queue messages (inside a transaction)."""
        db.executemany(
            "INSERT INTO inbox (instance_id, execution_id, due_at, timer_id, kind, body) VALUES (?, ?, ?, ?, ?, ?)",
            [(m.instance_id, m.execution_id, m.due_at, m.timer_id, m.kind, json.dumps(m.body)) for m in messages],
        )

    def next_ready_instance(self, now: float) -> str | None:
        """The instance owning the oldest message that is due."""
        row = self._db.execute(
            "SELECT instance_id FROM inbox WHERE due_at IS NULL OR due_at <= ? ORDER BY id LIMIT 1",
            (now + _DUE_SLACK_S,),
        ).fetchone()
        return None if row is None else str(row[0])

    def ready_messages(self, instance_id: str, now: float) -> list[InboxMessage]:
        """The instance's due messages, oldest first."""
        rows = self._db.execute(
            "SELECT id, instance_id, execution_id, kind, body FROM inbox "
            "WHERE instance_id = ? AND (due_at IS NULL OR due_at <= ?) ORDER BY id",
            (instance_id, now + _DUE_SLACK_S),
        )
        return [InboxMessage(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]

    def delete_messages(self, db: sqlite3.Connection, ids: Iterable[int]) -> None:
        """Remove consumed messages (inside a transaction)."""
        db.executemany("DELETE FROM inbox WHERE id = ?", [(i,) for i in ids])

    def delete_timers(self, db: sqlite3.Connection, instance_id: str, timer_ids: Iterable[int]) -> None:
        """Remove pending timers, e.g. cancelled ones (inside a transaction)."""
        db.executemany(
            "DELETE FROM inbox WHERE instance_id = ? AND timer_id = ?", [(instance_id, t) for t in timer_ids]
        )

    def delete_execution_work(self, db: sqlite3.Connection, instance_id: str, execution_id: str) -> None:
        """Drop the timers, completions and activities of an execution that has ended."""
        db.execute("DELETE FROM inbox WHERE instance_id = ? AND execution_id = ?", (instance_id, execution_id))
        db.execute("DELETE FROM activities WHERE instance_id = ? AND execution_id = ?", (instance_id, execution_id))

    def next_due_time(self) -> float | None:
        """The earliest due time of any timer, or None."""
        row = self._db.execute("SELECT MIN(due_at) FROM inbox WHERE due_at IS NOT NULL").fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def has_messages(self) -> bool:
        """Whether any message (due or not) is waiting."""
        return self._db.execute("SELECT 1 FROM inbox LIMIT 1").fetchone() is not None

    # activities

    def add_activities(self, db: sqlite3.Connection, items: Iterable[NewActivity]) -> None:
        """Create activity work items (inside a transaction)."""
        db.executemany(
            "INSERT INTO activities (instance_id, execution_id, task_id, name, input) VALUES (?, ?, ?, ?, ?)",
            [(a.instance_id, a.execution_id, a.task_id, a.name, a.input_json) for a in items],
        )

    def claim_activities(self, owner: str, now: float, lease_seconds: float, limit: int) -> list[ActivityItem]:
        """Lease up to `limit` activities that nobody holds (or whose lease ran out)."""
        if limit <= 0:
            return []
        claimable = self._db.execute(
            "SELECT 1 FROM activities WHERE lease_until IS NULL OR lease_until < ? LIMIT 1", (now,)
        ).fetchone()
        if claimable is None:
            return []
        with self.transaction() as db:
            rows = db.execute(
                "SELECT id, instance_id, execution_id, task_id, name, input, attempts FROM activities "
                "WHERE lease_until IS NULL OR lease_until < ? ORDER BY id LIMIT ?",
                (now, limit),
            ).fetchall()
            items = [
                ActivityItem(r[0], r[1], r[2], r[3], r[4], r[5], r[6] + 1, f"{owner}:{r[0]}:{r[6] + 1}") for r in rows
            ]
            db.executemany(
                "UPDATE activities SET lease_owner = ?, lease_until = ?, attempts = attempts + 1 WHERE id = ?",
                [(item.lease, now + lease_seconds, item.id) for item in items],
            )
        return items

    def renew_leases(self, items: list[ActivityItem], until: float) -> None:
        """Extend the leases of activities that are still running."""
        with self.transaction() as db:
            db.executemany(
                "UPDATE activities SET lease_until = ? WHERE id = ? AND lease_owner = ?",
                [(until, item.id, item.lease) for item in items],
            )

    def release_all_leases(self) -> None:
        """Forget leases of a previous process: its activities run again (at-least-once)."""
        with self.transaction() as db:
            db.execute("UPDATE activities SET lease_owner = NULL, lease_until = NULL")

    def finish_activity(self, item: ActivityItem, message: NewMessage) -> bool:
        """Delete the work item and queue its completion, atomically; False if its lease was lost."""
        with self.transaction() as db:
            row = db.execute("SELECT lease_owner FROM activities WHERE id = ?", (item.id,)).fetchone()
            if row is None or row[0] != item.lease:
                return False
            db.execute("DELETE FROM activities WHERE id = ?", (item.id,))
            self.add_messages(db, [message])
        return True

    def activity_count(self) -> int:
        """How many activities are waiting or running."""
        return int(self._db.execute("SELECT COUNT(*) FROM activities").fetchone()[0])
