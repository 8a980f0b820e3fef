"""Timer triggers on a real clock: each timer function fires on its NCRONTAB schedule.

As with the host's schedule monitor, the last and next occurrences of each timer are kept in a small
status file (when one is given), so a timer whose occurrence passed while the devhost was down fires once
at start with `past_due=True`.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from azure.functions.timer import TimerRequest
from pydantic import BaseModel, TypeAdapter

from devhost.functions_host.discovery import FunctionTrigger, TimerBinding
from devhost.functions_host.invoke import FunctionInvoker
from devhost.functions_host.ncrontab import NcrontabSchedule

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real clock, timezone-aware UTC."""
    return datetime.now(UTC)


class ScheduleStatus(BaseModel):
    """One timer's schedule status, as the host records it (`ScheduleStatus` of the trigger payload)."""

    last: datetime | None = None
    next: datetime
    last_updated: datetime

    def as_trigger_payload(self) -> dict[str, str | None]:
        """The `ScheduleStatus` dict a `func.TimerRequest` carries (host casing)."""
        return {
            "Last": None if self.last is None else self.last.isoformat(),
            "Next": self.next.isoformat(),
            "LastUpdated": self.last_updated.isoformat(),
        }


_STATUS_FILE = TypeAdapter(dict[str, ScheduleStatus])


class _StatusStore:
    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._status: dict[str, ScheduleStatus] = {}
        if path is not None and path.exists():
            try:
                self._status = _STATUS_FILE.validate_json(path.read_bytes())
            except ValueError:
                log.warning("timer status file %s is unreadable; starting timers afresh", path)

    def get(self, name: str) -> ScheduleStatus | None:
        with self._lock:
            return self._status.get(name)

    def put(self, name: str, status: ScheduleStatus) -> None:
        with self._lock:
            self._status[name] = status
            if self._path is not None:
                self._path.parent.mkdir(parents=True, exist_ok=True)
                temp = self._path.with_suffix(".tmp")
                temp.write_text(json.dumps({k: v.model_dump(mode="json") for k, v in self._status.items()}))
                temp.replace(self._path)


class TimerScheduler:
    """Runs every timer trigger in a thread of its own until `stop()`."""

    def __init__(
        self,
        triggers: list[FunctionTrigger],
        invoker: FunctionInvoker,
        status_path: Path | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._timers = [t for t in triggers if t.kind == "timer"]
        self._schedules = {t.name: NcrontabSchedule(self._binding(t).schedule) for t in self._timers}
        self._invoker = invoker
        self._clock = clock
        self._status = _StatusStore(status_path)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    @staticmethod
    def _binding(trigger: FunctionTrigger) -> TimerBinding:
        assert isinstance(trigger.binding, TimerBinding)
        return trigger.binding

    def start(self) -> None:
        """Start one thread per timer function."""
        for trigger in self._timers:
            thread = threading.Thread(target=self._run, args=(trigger,), name=f"timer-{trigger.name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout_s: float = 10) -> None:
        """Stop scheduling; a timer function already running is waited for up to `timeout_s`."""
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout_s)
        self._threads.clear()

    def fire(self, trigger: FunctionTrigger, *, past_due: bool = False) -> None:
        """Invoke one timer function now (also what the schedule loop does), recording its status."""
        now = self._clock()
        previous = self._status.get(trigger.name)
        following = self._schedules[trigger.name].next_after(now)
        status = ScheduleStatus(last=now, next=following, last_updated=now)
        request = TimerRequest(
            past_due=past_due,
            schedule_status=(previous or status).as_trigger_payload(),
            schedule={"AdjustForDST": True},
        )
        try:
            self._invoker.invoke(trigger, request)
        except Exception:
            log.exception("timer function %s failed", trigger.name)
        self._status.put(trigger.name, status)

    def _run(self, trigger: FunctionTrigger) -> None:
        schedule = self._schedules[trigger.name]
        recorded = self._status.get(trigger.name)
        if recorded is not None and recorded.next <= self._clock():
            self.fire(trigger, past_due=True)
        elif self._binding(trigger).run_on_startup:
            self.fire(trigger)
        while not self._stopping.is_set():
            due = schedule.next_after(self._clock())
            recorded = self._status.get(trigger.name)
            if recorded is None or recorded.next != due:
                now = self._clock()
                self._status.put(
                    trigger.name,
                    ScheduleStatus(last=None if recorded is None else recorded.last, next=due, last_updated=now),
                )
            while not self._stopping.is_set():
                remaining = (due - self._clock()).total_seconds()
                if remaining <= 0:
                    break
                self._stopping.wait(min(remaining, 60.0))
            if not self._stopping.is_set():
                self.fire(trigger)
