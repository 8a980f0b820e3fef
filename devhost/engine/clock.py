"""Clocks: the real one, and a virtual one that tests move forward to the next due timer."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Where the engine reads the time (timer due times, history timestamps)."""

    @property
    def is_virtual(self) -> bool:
        """Whether the engine may jump this clock forward when nothing else can run."""
        ...

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def advance_to(self, moment: datetime) -> None:
        """Move a virtual clock forward to `moment` (never backwards)."""
        ...


class RealClock:
    """The wall clock; timers fire when their time has really come."""

    @property
    def is_virtual(self) -> bool:
        """Never: the real clock only moves by itself."""
        return False

    def now(self) -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)

    def advance_to(self, moment: datetime) -> None:
        """Refused: the real clock cannot be moved."""
        raise TypeError("the real clock cannot be advanced; use VirtualClock to skip time")


class VirtualClock:
    """A clock that stands still until the engine advances it to the next due timer."""

    def __init__(self, start: datetime | None = None) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError("VirtualClock start must be timezone-aware (e.g. datetime(..., tzinfo=UTC))")
        self._now = start or datetime.now(UTC)
        self._lock = threading.Lock()

    @property
    def is_virtual(self) -> bool:
        """Always: the engine may skip time."""
        return True

    def now(self) -> datetime:
        """The virtual time."""
        with self._lock:
            return self._now

    def advance_to(self, moment: datetime) -> None:
        """Jump forward to `moment`; earlier moments leave the clock where it is."""
        with self._lock:
            self._now = max(self._now, moment)
