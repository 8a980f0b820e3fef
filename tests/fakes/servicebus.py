"""An in-memory `EventPublisher` for unit tests."""

from __future__ import annotations

from collections.abc import Sequence

from shared.events import CloudEvent, EventType
from shared.servicebus import EventPublisher


class RecordingEventPublisher(EventPublisher):
    """Records published events; like the topic's duplicate detection, a re-sent event id is dropped.

    `fail_next` makes the next N publish calls raise the given error (to test retries).
    """

    def __init__(self) -> None:
        self.events: list[CloudEvent] = []
        self.calls = 0
        self.duplicates_dropped = 0
        self._seen: set[str] = set()
        self._failures: list[Exception] = []

    def fail_next(self, error: Exception, times: int = 1) -> None:
        """Raise `error` from the next `times` publish calls."""
        self._failures.extend([error] * times)

    def publish(self, events: Sequence[CloudEvent]) -> None:
        """Record the events (all or nothing, like one batch)."""
        self.calls += 1
        if self._failures:
            raise self._failures.pop(0)
        for event in events:
            if event.id in self._seen:
                self.duplicates_dropped += 1
                continue
            self._seen.add(event.id)
            self.events.append(event)

    def of_run(self, run_id: str) -> list[CloudEvent]:
        """The events of one run, in publication order."""
        return [event for event in self.events if event.run_id == run_id]

    def types(self, run_id: str | None = None) -> list[EventType]:
        """The event types published (of one run, if given), in order."""
        events = self.events if run_id is None else self.of_run(run_id)
        return [event.type for event in events]
