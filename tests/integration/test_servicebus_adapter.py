"""`ServiceBusEventPublisher` (the real SDK) publishing to the devhost broker, read back with the real SDK."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from azure.servicebus import ServiceBusClient, ServiceBusReceivedMessage
from opentelemetry.sdk.trace import TracerProvider
from pydantic import SecretStr

from devhost.servicebus_broker import Broker
from shared import names
from shared.errors import PermanentError, TransientError
from shared.events import CONTENT_TYPE, CloudEvent, EventType, build_event, parse_event
from shared.servicebus import ServiceBusEventPublisher, normalise_properties
from tests.fixtures.broker import BrokerFactory

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _events(run_id: str, types: list[EventType], *, attempt: int = 0) -> list[CloudEvent]:
    return [
        build_event(run_id, event_type, sequence, state="running", time=T0, attempt=attempt, data={"n": sequence})
        for sequence, event_type in enumerate(types, start=1)
    ]


@pytest.fixture
def publisher(broker: Broker) -> Iterator[ServiceBusEventPublisher]:
    adapter = ServiceBusEventPublisher(topic=names.EVENTS_TOPIC, connection_string=broker.connection_string)
    yield adapter
    adapter.close()


def _drain(broker: Broker, subscription: str, expected: int | None = None) -> list[ServiceBusReceivedMessage]:
    """Receive and complete everything in a subscription (until `expected` arrived, or it stays empty)."""
    received: list[ServiceBusReceivedMessage] = []
    with (
        ServiceBusClient.from_connection_string(broker.connection_string.get_secret_value()) as client,
        client.get_subscription_receiver(names.EVENTS_TOPIC, subscription) as receiver,
    ):
        while expected is None or len(received) < expected:
            batch = receiver.receive_messages(max_message_count=100, max_wait_time=2 if expected else 1)
            if not batch:
                break
            for message in batch:
                receiver.complete_message(message)
            received.extend(batch)
    return received


def test_published_events_arrive_with_every_property(broker: Broker, publisher: ServiceBusEventPublisher) -> None:
    tracer = TracerProvider().get_tracer("test")
    events = _events("ft-data-0123456789ab", [EventType.RUN_ACCEPTED, EventType.VALIDATION_FAILED])
    with tracer.start_as_current_span("publish") as span:
        publisher.publish(events)
        trace_id = f"{span.get_span_context().trace_id:032x}"

    received = _drain(broker, names.ALL_EVENTS_SUBSCRIPTION, expected=2)

    assert [m.message_id for m in received] == [e.id for e in events]
    first = received[0]
    assert parse_event(b"".join(first.body)) == events[0]
    assert first.content_type == CONTENT_TYPE
    assert first.subject == "finetune.run.accepted"
    properties = normalise_properties(first.application_properties)
    assert properties["eventType"] == "finetune.run.accepted"
    assert properties["runId"] == "ft-data-0123456789ab"
    assert properties["stage"] == "run"
    assert properties["outcome"] == "accepted"
    assert properties["traceparent"].startswith(f"00-{trace_id}-")
    assert properties["Diagnostic-Id"] == properties["traceparent"]
    assert first.session_id is None


def test_resent_events_are_dropped_by_duplicate_detection(broker: Broker, publisher: ServiceBusEventPublisher) -> None:
    events = _events("ft-dup-000000000000", [EventType.RUN_ACCEPTED, EventType.TRAINING_SUBMITTED])
    publisher.publish(events)
    publisher.publish(events)  # an activity retried after its first send went through
    publisher.publish(_events("ft-dup-000000000000", [EventType.RUN_ACCEPTED], attempt=1))  # a new attempt

    received = _drain(broker, names.ALL_EVENTS_SUBSCRIPTION)

    assert [m.message_id for m in received] == [
        "ft-dup-000000000000:finetune.run.accepted:0:1",
        "ft-dup-000000000000:finetune.training.submitted:0:2",
        "ft-dup-000000000000:finetune.run.accepted:1:1",
    ]


def test_failures_subscription_gets_only_failed_events(broker: Broker, publisher: ServiceBusEventPublisher) -> None:
    publisher.publish(
        _events(
            "ft-filter-00000000000",
            [EventType.RUN_ACCEPTED, EventType.VALIDATION_FAILED, EventType.RUN_SUCCEEDED, EventType.RUN_FAILED],
        )
    )

    failures = _drain(broker, names.FAILURES_SUBSCRIPTION, expected=2)
    everything = _drain(broker, names.ALL_EVENTS_SUBSCRIPTION, expected=4)

    assert [m.subject for m in failures] == ["finetune.validation.failed", "finetune.run.failed"]
    assert len(everything) == 4
    assert _drain(broker, names.FAILURES_SUBSCRIPTION) == []


def test_a_large_publish_is_split_into_several_batches(broker: Broker, publisher: ServiceBusEventPublisher) -> None:
    big = "x" * 20_000
    events = [
        build_event(
            "ft-big-000000000000", EventType.TRAINING_STATUS_CHANGED, n, state="running", time=T0, data={"log": big}
        )
        for n in range(1, 61)
    ]  # about 1.2 MB: more than one 256 KB batch
    publisher.publish(events)

    received = _drain(broker, names.ALL_EVENTS_SUBSCRIPTION, expected=60)

    assert [parse_event(b"".join(m.body)).data.sequence for m in received] == list(range(1, 61))


def test_events_with_sessions_carry_the_run_id_as_session(broker: Broker) -> None:
    adapter = ServiceBusEventPublisher(
        topic=names.EVENTS_TOPIC, connection_string=broker.connection_string, use_sessions=True
    )
    try:
        adapter.publish(_events("ft-sess-000000000000", [EventType.RUN_ACCEPTED]))
    finally:
        adapter.close()

    [message] = _drain(broker, names.ALL_EVENTS_SUBSCRIPTION, expected=1)

    assert message.session_id == "ft-sess-000000000000"


def test_the_publisher_reconnects_after_a_broker_restart(make_broker: BrokerFactory, tmp_path: Path) -> None:
    first = make_broker(data_dir=tmp_path / "durable")
    publisher = ServiceBusEventPublisher(topic=names.EVENTS_TOPIC, connection_string=first.connection_string)
    try:
        publisher.publish(_events("ft-restart-00000000", [EventType.RUN_ACCEPTED]))
        first.stop()
        second = make_broker(data_dir=tmp_path / "durable")  # port 0: the port it had before

        assert second.port == first.port

        publisher.publish(_events("ft-restart-00000000", [EventType.RUN_ACCEPTED, EventType.VALIDATION_SUCCEEDED]))
    finally:
        publisher.close()

    received = _drain(second, names.ALL_EVENTS_SUBSCRIPTION, expected=2)
    assert [m.subject for m in received] == ["finetune.run.accepted", "finetune.validation.succeeded"]


def test_a_wrong_key_is_a_permanent_error_without_the_key(broker: Broker) -> None:
    wrong = SecretStr(broker.connection_string.get_secret_value().replace(broker.key.get_secret_value(), "d3Jvbmc="))
    adapter = ServiceBusEventPublisher(topic=names.EVENTS_TOPIC, connection_string=wrong, retry_total=0)
    try:
        with pytest.raises(PermanentError, match="publishing 1 event") as raised:
            adapter.publish(_events("ft-key-000000000000", [EventType.RUN_ACCEPTED]))
    finally:
        adapter.close()
    assert "d3Jvbmc=" not in str(raised.value)
    assert broker.key.get_secret_value() not in str(raised.value)


def test_an_unreachable_broker_is_a_transient_error(make_broker: BrokerFactory) -> None:
    gone = make_broker()
    gone.stop()
    adapter = ServiceBusEventPublisher(
        topic=names.EVENTS_TOPIC, connection_string=gone.connection_string, retry_total=1, retry_backoff_factor=0.1
    )
    try:
        with pytest.raises(TransientError, match="publishing 1 event"):
            adapter.publish(_events("ft-gone-00000000000", [EventType.RUN_ACCEPTED]))
    finally:
        adapter.close()
