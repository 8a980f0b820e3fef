"""Durable receipts of the devhost blob poller: one row per (container, blob name, ETag) it fired for.

A receipt is claimed atomically before the callback runs (`BEGIN IMMEDIATE`), so two pollers over the
same file, a restart, or a poll during a slow callback never fire the same (name, ETag) twice. A claim
that was never settled (the process died inside the callback) may be taken again once its lease
expires: the trigger is at-least-once, like Event Grid, and the run id derived from the ETag makes a
second start harmless.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel

_SCHEMA = """
CREATE TABLE IF NOT EXISTS blob_receipts (
    container TEXT NOT NULL,
    name TEXT NOT NULL,
    etag TEXT NOT NULL,
    outcome TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT,
    first_fired_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    lease_expires_at TEXT,
    PRIMARY KEY (container, name, etag)
)
"""
_FIELDS = ("container", "name", "etag", "outcome", "attempts", "last_error", "first_fired_at", "updated_at")
_SELECT = "SELECT container, name, etag, outcome, attempts, last_error, first_fired_at, updated_at FROM blob_receipts"
_INSERT_CLAIM = (
    "INSERT INTO blob_receipts (container, name, etag, outcome, attempts, last_error, first_fired_at, updated_at, "
    "lease_expires_at) VALUES (?, ?, ?, ?, 1, NULL, ?, ?, ?)"
)
_WHERE_KEY = " WHERE container = ? AND name = ? AND etag = ?"
_SELECT_CLAIM_STATE = (
    "SELECT outcome, attempts, lease_expires_at FROM blob_receipts WHERE container = ? AND name = ? AND etag = ?"
)
_UPDATE_CLAIM = (
    "UPDATE blob_receipts SET outcome = ?, attempts = attempts + 1, updated_at = ?, lease_expires_at = ? "
    "WHERE container = ? AND name = ? AND etag = ?"
)
_UPDATE_SETTLE = (
    "UPDATE blob_receipts SET outcome = ?, last_error = ?, updated_at = ?, lease_expires_at = NULL "
    "WHERE container = ? AND name = ? AND etag = ?"
)
MAX_ERROR_CHARS = 500


class ReceiptOutcome(StrEnum):
    """Where the firing of one (blob name, ETag) stands."""

    IN_PROGRESS = "in_progress"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    GAVE_UP = "gave_up"


class Receipt(BaseModel):
    """The durable record of firing the callback for one version (ETag) of one blob."""

    container: str
    name: str
    etag: str
    outcome: ReceiptOutcome
    attempts: int
    last_error: str | None = None
    first_fired_at: datetime
    updated_at: datetime


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ReceiptStore:
    """Receipts in a SQLite file (WAL), shared safely by threads and processes."""

    def __init__(self, path: Path, *, clock: Callable[[], datetime] = _utc_now) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def expire_leases(self) -> int:
        """Make every unsettled claim takeable at once; returns how many there were.

        Only for a process that knows no other one can hold a claim (the devhost holds its data directory's
        lock): claims left by a killed devhost are then retried on the next poll, not after their lease.
        """
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE blob_receipts SET lease_expires_at = ? WHERE outcome = ?",
                (self._clock().isoformat(), ReceiptOutcome.IN_PROGRESS),
            )
            return cursor.rowcount

    def claim(self, container: str, name: str, etag: str, *, max_attempts: int, lease: timedelta) -> Receipt | None:
        """Take the right to fire for this blob version, or `None` if it is done, given up or held.

        A first sighting, a failed attempt with attempts left, or an expired claim can be taken.
        """
        now = self._clock()
        with self._transaction() as db:
            row = db.execute(_SELECT_CLAIM_STATE, (container, name, etag)).fetchone()
            if row is None:
                stamp = now.isoformat()
                values = (container, name, etag, ReceiptOutcome.IN_PROGRESS, stamp, stamp, (now + lease).isoformat())
                db.execute(_INSERT_CLAIM, values)
            else:
                outcome, attempts, lease_expires_at = ReceiptOutcome(row[0]), int(row[1]), row[2]
                retryable = outcome is ReceiptOutcome.FAILED or (
                    outcome is ReceiptOutcome.IN_PROGRESS and datetime.fromisoformat(lease_expires_at) <= now
                )
                if not retryable or attempts >= max_attempts:
                    return None
                db.execute(
                    _UPDATE_CLAIM,
                    (ReceiptOutcome.IN_PROGRESS, now.isoformat(), (now + lease).isoformat(), container, name, etag),
                )
            return self._get(db, container, name, etag)

    def settle(
        self, container: str, name: str, etag: str, outcome: ReceiptOutcome, error: str | None = None
    ) -> Receipt:
        """Record how a claimed firing ended."""
        with self._transaction() as db:
            db.execute(
                _UPDATE_SETTLE,
                (outcome, error[:MAX_ERROR_CHARS] if error else None, self._clock().isoformat(), container, name, etag),
            )
            receipt = self._get(db, container, name, etag)
        if receipt is None:
            raise KeyError(f"no receipt for {container}/{name} {etag}")
        return receipt

    def get(self, container: str, name: str, etag: str) -> Receipt | None:
        """The receipt of one blob version, if it was ever fired."""
        with self._lock:
            return self._get(self._db, container, name, etag)

    def all(self, container: str | None = None) -> list[Receipt]:
        """Every receipt (of one container), oldest first."""
        order = " ORDER BY first_fired_at, name"
        with self._lock:
            if container is None:
                rows = self._db.execute(_SELECT + order).fetchall()
            else:
                rows = self._db.execute(_SELECT + " WHERE container = ?" + order, (container,)).fetchall()
        return [_receipt(row) for row in rows]

    @staticmethod
    def _get(db: sqlite3.Connection, container: str, name: str, etag: str) -> Receipt | None:
        row = db.execute(_SELECT + _WHERE_KEY, (container, name, etag)).fetchone()
        return None if row is None else _receipt(row)


def _receipt(row: tuple[object, ...]) -> Receipt:
    return Receipt.model_validate(dict(zip(_FIELDS, row, strict=True)))
