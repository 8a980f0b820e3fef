"""Durable broker state in one SQLite file: messages, sequence numbers, duplicate ids, session states.

Writes are queued and committed in batches by the broker loop (`flush`), never one fsync per
message: the broker flushes before it accepts a published transfer, and on a short timer for
settlements. A broker that restarts on the same directory finds every unsettled message again (locks
do not survive a restart, so locked messages become available, as when a lock expires).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    entity TEXT NOT NULL, seq INTEGER NOT NULL, raw BLOB NOT NULL, message_id TEXT, session_id TEXT,
    enqueued_ms INTEGER NOT NULL, expires_ms INTEGER, delivery_count INTEGER NOT NULL, state INTEGER NOT NULL,
    visible_ms INTEGER, dead_letter_source TEXT, PRIMARY KEY (entity, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sequences (entity TEXT PRIMARY KEY, last_seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS duplicates (
    scope TEXT NOT NULL, message_id TEXT NOT NULL, expires_ms INTEGER NOT NULL, PRIMARY KEY (scope, message_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS session_states (
    entity TEXT NOT NULL, session_id TEXT NOT NULL, state BLOB, PRIMARY KEY (entity, session_id)
) WITHOUT ROWID;
"""

_INSERT = (
    "INSERT OR REPLACE INTO messages (entity, seq, raw, message_id, session_id, enqueued_ms, expires_ms,"
    " delivery_count, state, visible_ms, dead_letter_source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPDATE = "UPDATE messages SET delivery_count = ?, state = ?, visible_ms = ? WHERE entity = ? AND seq = ?"
_DELETE = "DELETE FROM messages WHERE entity = ? AND seq = ?"
_SEQUENCE = "INSERT OR REPLACE INTO sequences (entity, last_seq) VALUES (?, ?)"
_DUPLICATE = "INSERT OR REPLACE INTO duplicates (scope, message_id, expires_ms) VALUES (?, ?, ?)"
_PRUNE_DUPLICATES = "DELETE FROM duplicates WHERE expires_ms < ?"
_SESSION_STATE = "INSERT OR REPLACE INTO session_states (entity, session_id, state) VALUES (?, ?, ?)"


@dataclass(frozen=True)
class StoredRow:
    """One message as persisted."""

    entity: str
    seq: int
    raw: bytes
    message_id: str | None
    session_id: str | None
    enqueued_ms: int
    expires_ms: int | None
    delivery_count: int
    state: int
    visible_ms: int | None
    dead_letter_source: str | None


class Store:
    """Write-behind persistence of the broker; `path=None` keeps nothing (in-memory broker)."""

    def __init__(self, path: Path | None) -> None:
        self._db: sqlite3.Connection | None = None
        self._pending: list[tuple[str, tuple[Any, ...]]] = []
        self._sequences: dict[str, int] = {}
        self._duplicates: list[tuple[str, str, int]] = []
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)

    def _queue(self, sql: str, params: tuple[Any, ...]) -> None:
        if self._db is not None:
            self._pending.append((sql, params))

    def insert(self, row: StoredRow) -> None:
        """Persist a new message (or one moved to another entity)."""
        self._queue(
            _INSERT,
            (
                row.entity,
                row.seq,
                row.raw,
                row.message_id,
                row.session_id,
                row.enqueued_ms,
                row.expires_ms,
                row.delivery_count,
                row.state,
                row.visible_ms,
                row.dead_letter_source,
            ),
        )

    def update(self, entity: str, seq: int, *, delivery_count: int, state: int, visible_ms: int | None) -> None:
        """Record a changed delivery count or state."""
        self._queue(_UPDATE, (delivery_count, state, visible_ms, entity, seq))

    def delete(self, entity: str, seq: int) -> None:
        """Forget a settled or expired message."""
        self._queue(_DELETE, (entity, seq))

    def last_sequence(self, entity: str, seq: int) -> None:
        """Record the entity's highest sequence number so numbers are never reused after a restart."""
        if self._db is not None:
            self._sequences[entity] = seq

    def duplicate(self, scope: str, message_id: str, expires_ms: int) -> None:
        """Remember a message id for duplicate detection."""
        if self._db is not None:
            self._duplicates.append((scope, message_id, expires_ms))

    def prune_duplicates(self, now_ms: int) -> None:
        """Forget message ids whose detection window has passed."""
        self._queue(_PRUNE_DUPLICATES, (now_ms,))

    def session_state(self, entity: str, session_id: str, state: bytes | None) -> None:
        """Persist a session's state."""
        self._queue(_SESSION_STATE, (entity, session_id, state))

    @property
    def dirty(self) -> bool:
        """Whether writes are waiting for `flush`."""
        return bool(self._pending or self._sequences or self._duplicates)

    def flush(self) -> None:
        """Commit every queued write in one transaction, in the order they were made."""
        if self._db is None or not self.dirty:
            return
        pending, self._pending = self._pending, []
        sequences, self._sequences = self._sequences, {}
        duplicates, self._duplicates = self._duplicates, []
        self._db.execute("BEGIN")
        try:
            # Consecutive writes of one kind go in one executemany; their order is kept.
            for sql, group in groupby(pending, key=itemgetter(0)):
                self._db.executemany(sql, [params for _, params in group])
            self._db.executemany(_SEQUENCE, sequences.items())
            self._db.executemany(_DUPLICATE, duplicates)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def messages(self) -> Iterator[StoredRow]:
        """Every persisted message, by entity and sequence number."""
        if self._db is None:
            return
        for row in self._db.execute(
            "SELECT entity, seq, raw, message_id, session_id, enqueued_ms, expires_ms, delivery_count, state,"
            " visible_ms, dead_letter_source FROM messages ORDER BY entity, seq"
        ):
            yield StoredRow(*row)

    def sequences(self) -> dict[str, int]:
        """The highest sequence number handed out per entity."""
        if self._db is None:
            return {}
        return dict(self._db.execute("SELECT entity, last_seq FROM sequences").fetchall())

    def duplicates(self) -> Iterator[tuple[str, str, int]]:
        """Remembered (scope, message id, expiry)."""
        if self._db is None:
            return
        yield from self._db.execute("SELECT scope, message_id, expires_ms FROM duplicates")

    def session_states(self) -> Iterator[tuple[str, str, bytes | None]]:
        """Persisted (entity, session id, state)."""
        if self._db is None:
            return
        yield from self._db.execute("SELECT entity, session_id, state FROM session_states")

    def close(self) -> None:
        """Flush and close the file."""
        if self._db is not None:
            self.flush()
            self._db.close()
            self._db = None
