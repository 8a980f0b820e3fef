"""How an event becomes a Service Bus message (no broker needed)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from azure.identity.aio import DefaultAzureCredential as AsyncDefaultAzureCredential
from opentelemetry.sdk.trace import TracerProvider
from pydantic import SecretStr

from shared.errors import ConfigurationError, PermanentError
from shared.events import CONTENT_TYPE, EventType, build_event, parse_event
from shared.servicebus import (
    PARTITION_KEY_ANNOTATION,
    ServiceBusEventPublisher,
    identity_credential,
    message_for,
    normalise_properties,
)
from tests.fakes.servicebus import RecordingEventPublisher

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
EVENT = build_event("ft-a-0123", EventType.DEPLOYMENT_FAILED, 5, state="failed", time=T0, data={"reason": "quota"})


def test_a_message_carries_the_event_and_its_filter_properties() -> None:
    message = message_for(EVENT)

    assert parse_event(b"".join(message.body)) == EVENT
    assert message.properties is not None
    assert message.properties.message_id == EVENT.id
    assert message.properties.subject == "finetune.deployment.failed"
    assert message.properties.content_type == CONTENT_TYPE
    assert message.application_properties == {
        "eventType": "finetune.deployment.failed",
        "runId": "ft-a-0123",
        "stage": "deployment",
        "outcome": "failed",
    }
    assert message.properties.group_id is None
    assert not message.annotations


def test_with_sessions_the_run_is_the_session_and_the_partition_key() -> None:
    message = message_for(EVENT, use_sessions=True)

    assert message.properties is not None
    assert message.properties.group_id == "ft-a-0123"
    assert message.annotations == {PARTITION_KEY_ANNOTATION: "ft-a-0123"}


def test_the_current_span_travels_as_traceparent_and_diagnostic_id() -> None:
    with TracerProvider().get_tracer("test").start_as_current_span("activity") as span:
        message = message_for(EVENT)
        context = span.get_span_context()

    properties = normalise_properties(message.application_properties)
    expected = f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"
    assert properties["traceparent"] == properties["Diagnostic-Id"] == expected


def test_received_properties_are_normalised_to_text() -> None:
    assert normalise_properties({b"runId": b"ft-a", "n": 3, b"flag": True}) == {"runId": "ft-a", "n": 3, "flag": True}
    assert normalise_properties(None) == {}


def test_a_publisher_needs_a_connection_string_or_a_namespace() -> None:
    with pytest.raises(ConfigurationError, match="SERVICEBUS_CONNECTION_STRING"):
        ServiceBusEventPublisher(topic="t")


def test_building_a_publisher_opens_no_connection() -> None:
    publisher = ServiceBusEventPublisher(topic="t", connection_string=SecretStr("Endpoint=sb://127.0.0.1:1;x"))

    publisher.close()  # nothing was opened, nothing to fail


def test_the_fake_drops_resent_ids_and_can_fail_on_demand() -> None:
    fake = RecordingEventPublisher()
    fake.fail_next(PermanentError("down"))

    with pytest.raises(PermanentError):
        fake.publish([EVENT])
    fake.publish([EVENT])
    fake.publish([EVENT])

    assert fake.types("ft-a-0123") == [EventType.DEPLOYMENT_FAILED]
    assert fake.duplicates_dropped == 1


def test_in_azure_the_publisher_authenticates_with_an_asyncio_managed_identity_credential() -> None:
    credential = identity_credential("client-1")

    assert isinstance(credential, AsyncDefaultAzureCredential)
    asyncio.run(credential.close())
