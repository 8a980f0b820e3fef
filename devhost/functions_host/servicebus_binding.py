"""The Service Bus trigger binding: a `func.ServiceBusMessage` built from a received SDK message."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from azure.functions.servicebus import ServiceBusMessage
from azure.servicebus import ServiceBusReceivedMessage
from azure.servicebus.amqp import AmqpMessageBodyType


def _text(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return bytes(value)
    return value


def normalise_properties(properties: Mapping[Any, Any] | None) -> dict[str, Any]:
    """Application properties with str keys, and UTF-8 byte values decoded (the SDK returns bytes)."""
    return {str(_text(key)): _text(value) for key, value in (properties or {}).items()}


def message_body(message: ServiceBusReceivedMessage) -> bytes:
    """The body as bytes, whatever AMQP body type carried it."""
    body = message.body
    if message.body_type == AmqpMessageBodyType.DATA:
        return b"".join(bytes(section) for section in body)
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    return str(body if message.body_type == AmqpMessageBodyType.VALUE else message).encode("utf-8")


def build_servicebus_message(message: ServiceBusReceivedMessage) -> ServiceBusMessage:
    """The object the worker passes to a Service Bus trigger function for this received message."""
    properties = normalise_properties(message.application_properties)
    lock_token = message.lock_token
    # Service Bus puts (deliveries - 1) in the AMQP header; the host's .NET SDK adds the 1 back, the Python SDK
    # does not. Functions see the .NET value: 1 on the first delivery.
    header_count = message.delivery_count
    delivery_count = None if header_count is None else header_count + 1
    return ServiceBusMessage(
        body=message_body(message),
        application_properties=properties,
        user_properties=dict(properties),
        content_type=message.content_type,
        correlation_id=message.correlation_id,
        dead_letter_error_description=message.dead_letter_error_description,
        dead_letter_reason=message.dead_letter_reason,
        dead_letter_source=message.dead_letter_source,
        delivery_count=delivery_count,
        enqueued_sequence_number=message.enqueued_sequence_number,
        enqueued_time_utc=message.enqueued_time_utc,
        expires_at_utc=message.expires_at_utc,
        label=message.subject,
        locked_until=message.locked_until_utc,
        lock_token=None if lock_token is None else str(lock_token),
        message_id=str(message.message_id or ""),
        partition_key=message.partition_key,
        reply_to=message.reply_to,
        reply_to_session_id=message.reply_to_session_id,
        scheduled_enqueue_time_utc=message.scheduled_enqueue_time_utc,
        sequence_number=message.sequence_number,
        session_id=message.session_id,
        state=int(message.state.value) if message.state is not None else None,
        subject=message.subject,
        time_to_live=message.time_to_live,
        to=message.to,
    )
