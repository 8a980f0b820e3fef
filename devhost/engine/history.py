"""History events in the shape the Durable extension sends them to the Python SDK (PascalCase keys)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

Event = dict[str, Any]


class EventType(IntEnum):
    """History event types (DurableTask.Core's `EventType`)."""

    EXECUTION_STARTED = 0
    EXECUTION_COMPLETED = 1
    EXECUTION_FAILED = 2
    EXECUTION_TERMINATED = 3
    TASK_SCHEDULED = 4
    TASK_COMPLETED = 5
    TASK_FAILED = 6
    SUB_ORCHESTRATION_CREATED = 7
    SUB_ORCHESTRATION_COMPLETED = 8
    SUB_ORCHESTRATION_FAILED = 9
    TIMER_CREATED = 10
    TIMER_FIRED = 11
    ORCHESTRATOR_STARTED = 12
    ORCHESTRATOR_COMPLETED = 13
    EVENT_SENT = 14
    EVENT_RAISED = 15
    CONTINUE_AS_NEW = 16


SCHEDULING_TYPES = frozenset({EventType.TASK_SCHEDULED, EventType.SUB_ORCHESTRATION_CREATED, EventType.TIMER_CREATED})
COMPLETION_TYPES = frozenset(
    {
        EventType.TASK_COMPLETED,
        EventType.TASK_FAILED,
        EventType.SUB_ORCHESTRATION_COMPLETED,
        EventType.SUB_ORCHESTRATION_FAILED,
        EventType.TIMER_FIRED,
    }
)


def format_time(moment: datetime) -> str:
    """ISO 8601 UTC with a `Z`, as the host writes timestamps."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """The inverse of `format_time`."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def event(kind: EventType, at: datetime, event_id: int = -1, **fields: Any) -> Event:
    """One history event; `fields` are the type-specific PascalCase keys."""
    return {"EventType": int(kind), "EventId": event_id, "IsPlayed": False, "Timestamp": format_time(at), **fields}


def completion_key(ev: Event) -> int | None:
    """The task id a completion event resolves, or None for other events."""
    kind = ev["EventType"]
    if kind == EventType.TIMER_FIRED:
        return int(ev["TimerId"])
    if kind in COMPLETION_TYPES:
        return int(ev["TaskScheduledId"])
    return None
