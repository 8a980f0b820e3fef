"""The dashboard's event reader against the devhost broker, through the real SDK."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from devhost.dashboard.events import BrokerEventFeed, EventLog
from devhost.servicebus_broker import Broker
from shared import names
from shared.events import CloudEvent, EventType, build_event
from shared.servicebus import ServiceBusEventPublisher
from tests.fixtures.broker import BrokerFactory

pytestmark = pytest.mark.integration

RUN = "ft-xbox-0123456789ab"
T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def publish(broker: Broker, *events: CloudEvent) -> None:
    publisher = ServiceBusEventPublisher(topic=names.EVENTS_TOPIC, connection_string=broker.connection_string)
    try:
        publisher.publish(list(events))
    finally:
        publisher.close()


def accepted(sequence: int, event_type: EventType = EventType.RUN_ACCEPTED) -> CloudEvent:
    return build_event(RUN, event_type, sequence, state="running", time=T0)


def wait_until(check: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_the_feed_keeps_every_event_and_leaves_them_for_other_readers(broker: Broker) -> None:
    publish(broker, accepted(1), accepted(2, EventType.VALIDATION_SUCCEEDED))
    first_log, second_log = EventLog(), EventLog()
    first = BrokerEventFeed(broker.connection_string, first_log, poll_s=0.1).start()
    try:
        wait_until(lambda: len(first_log) == 2, "the first two events")
        publish(broker, accepted(3, EventType.TRAINING_SUBMITTED))
        wait_until(lambda: len(first_log) == 3, "the event published while reading")
        second = BrokerEventFeed(broker.connection_string, second_log, poll_s=0.1).start()
        try:
            wait_until(lambda: len(second_log) == 3, "the events, for a reader started later")
        finally:
            second.stop()
    finally:
        first.stop()
    assert [event.data.sequence for event in first_log.for_run(RUN)] == [1, 2, 3]
    assert [event.id for event in second_log.for_run(RUN)] == [event.id for event in first_log.for_run(RUN)]


def test_the_feed_reconnects_after_the_broker_restarts(make_broker: BrokerFactory) -> None:
    broker = make_broker()
    port, data_dir = broker.port, broker.data_dir
    publish(broker, accepted(1))
    event_log = EventLog()
    feed = BrokerEventFeed(broker.connection_string, event_log, poll_s=0.1, retry_s=0.2, peek_timeout_s=2).start()
    try:
        wait_until(lambda: len(event_log) == 1, "the first event")
        broker.stop()
        wait_until(lambda: not feed.connected.is_set(), "the reader to notice the broker is gone")
        restarted = make_broker(port=port, data_dir=data_dir)
        publish(restarted, accepted(2, EventType.VALIDATION_SUCCEEDED))
        wait_until(lambda: len(event_log) == 2, "the event published after the restart")
    finally:
        feed.stop()
    assert [event.data.sequence for event in event_log.for_run(RUN)] == [1, 2]
