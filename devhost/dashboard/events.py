"""The run events the dashboard shows: an in-memory log, filled from the broker by a background reader.

The devhost declares its own subscription, `devhost-events`, on topic `finetune-events`. The reader
*peeks* it (as `python -m devhost events` does), so events stay there for every other reader and for a
dashboard started later: the broker is the store, and the log is only a cache of what was peeked. After
any error the reader reconnects and peeks again from the first message; the log drops the repeats by
event id, so a broker restart (whose sequence numbers may start again) loses nothing.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable

from pydantic import SecretStr

from devhost.background import BackgroundLoop
from devhost.servicebus_broker.entities import DEVHOST_EVENTS_SUBSCRIPTION
from shared.events import CloudEvent, InvalidEventError, parse_event
from shared.names import EVENTS_TOPIC

log = logging.getLogger(__name__)

DEFAULT_MAX_EVENTS = 50_000
PAGE_SIZE = 100
PEEK_TIMEOUT_S = 10.0


class EventLog:
    """Events by run, each once (by event id), ordered by their per-run sequence; thread-safe.

    Holds at most `max_events`: past that, the runs seen longest ago are forgotten first.
    """

    def __init__(self, max_events: int = DEFAULT_MAX_EVENTS) -> None:
        self._max_events = max_events
        self._runs: OrderedDict[str, dict[str, CloudEvent]] = OrderedDict()
        self._count = 0
        self._lock = threading.Lock()

    def add(self, events: Iterable[CloudEvent]) -> int:
        """Keep the events not seen before; returns how many were new."""
        added = 0
        with self._lock:
            for event in events:
                run = self._runs.setdefault(event.run_id, {})
                if event.id not in run:
                    run[event.id] = event
                    added += 1
                    self._count += 1
            while self._count > self._max_events and len(self._runs) > 1:
                _, dropped = self._runs.popitem(last=False)
                self._count -= len(dropped)
        return added

    def for_run(self, run_id: str) -> list[CloudEvent]:
        """The run's events, oldest first (by sequence, then time)."""
        with self._lock:
            events = list(self._runs.get(run_id, {}).values())
        return sorted(events, key=lambda event: (event.data.sequence, event.time))

    def __len__(self) -> int:
        with self._lock:
            return self._count


class BrokerEventFeed:
    """Peeks `devhost-events` in a background thread and adds every event to an `EventLog`."""

    def __init__(
        self,
        connection_string: SecretStr,
        event_log: EventLog,
        *,
        poll_s: float = 0.5,
        retry_s: float = 2.0,
        peek_timeout_s: float = PEEK_TIMEOUT_S,
        subscription: str = DEVHOST_EVENTS_SUBSCRIPTION,
    ) -> None:
        self._connection_string = connection_string
        self._log = event_log
        self._poll_s = poll_s
        self._retry_s = retry_s
        self._peek_timeout_s = peek_timeout_s
        self._subscription = subscription
        self._loop = BackgroundLoop(self._run, "dashboard-events")
        self.connected = threading.Event()
        """Set while the reader is connected and has read everything there was at its last poll."""

    def start(self) -> BrokerEventFeed:
        """Start reading in a daemon thread."""
        self._loop.start()
        return self

    def stop(self) -> None:
        """Stop reading; returns once the thread has ended (or after 10 s)."""
        self._loop.stop(timeout_s=10)

    def _run(self) -> None:
        while not self._loop.stopping.is_set():
            try:
                self._read_until_stopped()
            except Exception as error:
                # The broker restarted or went away: say so once per attempt, never with the connection string.
                log.warning("dashboard: reading events failed (%s); reconnecting", type(error).__name__)
            self.connected.clear()
            self._loop.stopping.wait(self._retry_s)

    def _read_until_stopped(self) -> None:
        from azure.servicebus import ServiceBusClient  # noqa: PLC0415 - the SDK only loads when reading events

        next_sequence = 1
        with (
            ServiceBusClient.from_connection_string(self._connection_string.get_secret_value(), retry_total=1) as bus,
            bus.get_subscription_receiver(EVENTS_TOPIC, self._subscription) as receiver,
        ):
            while not self._loop.stopping.is_set():
                # Without a timeout a peek on a connection whose broker went away waits forever.
                page = receiver.peek_messages(
                    max_message_count=PAGE_SIZE, sequence_number=next_sequence, timeout=self._peek_timeout_s
                )
                for message in page:
                    next_sequence = max(next_sequence, (message.sequence_number or 0) + 1)
                    try:
                        self._log.add([parse_event(b"".join(message.body))])
                    except InvalidEventError as error:
                        log.warning("dashboard: skipped a message that is not an event: %s", error)
                if len(page) < PAGE_SIZE:
                    self.connected.set()
                    self._loop.stopping.wait(self._poll_s)
