"""The `EventPublisher` port and its azure-servicebus adapter, plus helpers for received messages.

Each CloudEvent becomes one Service Bus message: the structured-mode body, `message_id` = the event id
(deterministic, so duplicate detection drops a re-sent event), `subject` = the event type, application
properties `eventType`, `runId`, `stage`, `outcome` for subscription filters, and `traceparent` /
`Diagnostic-Id` from the current OpenTelemetry span. Events are sent in as few `ServiceBusMessageBatch`es
as fit. Transient faults are retried by the SDK's own retry policy (configured here); what is left
surfaces as `TransientError` (retry the activity) or `PermanentError`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from opentelemetry import trace
from pydantic import SecretStr

from shared.commands import Command, CommandName, parse_command
from shared.errors import ConfigurationError, PermanentError, TransientError
from shared.events import CONTENT_TYPE, CloudEvent, serialize_event

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.servicebus import ServiceBusClient, ServiceBusMessage, ServiceBusSender

    from shared.settings import Settings

__all__ = [
    "Command",
    "CommandName",
    "EventPublisher",
    "ServiceBusEventPublisher",
    "application_properties_for",
    "message_for",
    "normalise_properties",
    "parse_command",
    "trace_properties",
]


class EventPublisher(Protocol):
    """Publishes the run's CloudEvents (in order, at least once; ids make re-sends harmless)."""

    def publish(self, events: Sequence[CloudEvent]) -> None:
        """Publish the events; raises `TransientError` or `PermanentError` when they could not be sent."""
        ...


def trace_properties() -> dict[str, str]:
    """`traceparent` and `Diagnostic-Id` (W3C trace context) of the current span, if there is one."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    traceparent = f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"
    return {"traceparent": traceparent, "Diagnostic-Id": traceparent}


def application_properties_for(event: CloudEvent) -> dict[str, str]:
    """The properties subscriptions filter on: `eventType`, `runId`, `stage`, `outcome`."""
    return {
        "eventType": event.type.value,
        "runId": event.run_id,
        "stage": event.type.stage,
        "outcome": event.type.outcome,
    }


def message_for(event: CloudEvent, *, use_sessions: bool = False) -> ServiceBusMessage:
    """The Service Bus message that carries one event."""
    from azure.servicebus import ServiceBusMessage  # noqa: PLC0415 - keep the SDK out of import time

    properties: dict[str | bytes, Any] = {}
    properties.update(application_properties_for(event))
    properties.update(trace_properties())
    return ServiceBusMessage(
        serialize_event(event),
        message_id=event.id,
        subject=event.type.value,
        content_type=CONTENT_TYPE,
        application_properties=properties,
        session_id=event.run_id if use_sessions else None,
        partition_key=event.run_id if use_sessions else None,
    )


def normalise_properties(properties: Mapping[Any, Any] | None) -> dict[str, Any]:
    """Received application properties with `str` keys and text values (the SDK returns bytes)."""

    def text(value: Any) -> Any:
        return value.decode("utf-8", "replace") if isinstance(value, bytes | bytearray) else value

    return {str(text(key)): text(value) for key, value in (properties or {}).items()}


_PERMANENT_ERRORS = (
    "ServiceBusAuthenticationError",
    "ServiceBusAuthorizationError",
    "MessagingEntityNotFoundError",
    "MessagingEntityDisabledError",
    "MessageSizeExceededError",
    "ServiceBusQuotaExceededError",
)


class ServiceBusEventPublisher:
    """`EventPublisher` over azure-servicebus: a connection string on the devhost, identity in Azure.

    The client and sender are built on first use (never at import time) and reused; `close()` ends them.
    """

    def __init__(
        self,
        *,
        topic: str,
        connection_string: SecretStr | None = None,
        fully_qualified_namespace: str | None = None,
        credential: TokenCredential | None = None,
        use_sessions: bool = False,
        retry_total: int = 5,
        retry_backoff_factor: float = 0.5,
        retry_backoff_max: float = 30.0,
    ) -> None:
        if connection_string is None and fully_qualified_namespace is None:
            raise ConfigurationError(
                "Service Bus is not configured: set SERVICEBUS_CONNECTION_STRING (devhost) or "
                "SERVICEBUS_FULLY_QUALIFIED_NAMESPACE (Azure, managed identity)"
            )
        self._topic = topic
        self._connection_string = connection_string
        self._namespace = fully_qualified_namespace
        self._credential = credential
        self._use_sessions = use_sessions
        self._retry: dict[str, Any] = {
            "retry_total": retry_total,
            "retry_backoff_factor": retry_backoff_factor,
            "retry_backoff_max": retry_backoff_max,
            "retry_mode": "exponential",
        }
        self._lock = threading.Lock()
        self._client: ServiceBusClient | None = None
        self._sender: ServiceBusSender | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ServiceBusEventPublisher:
        """The publisher the settings describe (identity auth when no connection string is set)."""
        return cls(
            topic=settings.events_topic,
            connection_string=settings.servicebus_connection_string,
            fully_qualified_namespace=settings.servicebus_fully_qualified_namespace,
            use_sessions=settings.events_use_sessions,
            retry_total=settings.servicebus_retry_total,
            retry_backoff_max=settings.servicebus_retry_backoff_max_seconds,
            credential=None
            if settings.servicebus_connection_string
            else _identity_credential(settings.azure_client_id),
        )

    def _get_sender(self) -> ServiceBusSender:
        if self._sender is None:
            from azure.servicebus import ServiceBusClient  # noqa: PLC0415 - lazily, see the class docstring

            if self._connection_string is not None:
                self._client = ServiceBusClient.from_connection_string(
                    self._connection_string.get_secret_value(), **self._retry
                )
            else:
                assert self._namespace is not None
                credential = self._credential or _identity_credential(None)
                self._client = ServiceBusClient(self._namespace, credential, **self._retry)
            self._sender = self._client.get_topic_sender(self._topic)
        return self._sender

    def publish(self, events: Sequence[CloudEvent]) -> None:
        """Send the events in as few batches as fit, in order."""
        if not events:
            return
        from azure.servicebus.exceptions import ServiceBusError  # noqa: PLC0415

        with self._lock:
            try:
                self._send(self._get_sender(), events)
            except ServiceBusError as error:
                kind = PermanentError if type(error).__name__ in _PERMANENT_ERRORS else TransientError
                raise kind(f"publishing {len(events)} event(s) to '{self._topic}' failed: {error.message}") from None

    def _send(self, sender: ServiceBusSender, events: Sequence[CloudEvent]) -> None:
        from azure.servicebus.exceptions import MessageSizeExceededError  # noqa: PLC0415

        if len(events) == 1:  # one plain message: no batch envelope to build and encode
            sender.send_messages(message_for(events[0], use_sessions=self._use_sessions))
            return
        batch = sender.create_message_batch()
        for event in events:
            message = message_for(event, use_sessions=self._use_sessions)
            try:
                batch.add_message(message)
            except MessageSizeExceededError:
                if len(batch) == 0:
                    raise PermanentError(f"event {event.id} is larger than a Service Bus message may be") from None
                sender.send_messages(batch)
                batch = sender.create_message_batch()
                batch.add_message(message)
        sender.send_messages(batch)

    def close(self) -> None:
        """Close the sender and the client (the next publish opens new ones)."""
        with self._lock:
            if self._sender is not None:
                self._sender.close()
            if self._client is not None:
                self._client.close()
            self._sender = None
            self._client = None


def _identity_credential(client_id: str | None) -> TokenCredential:
    from azure.identity import DefaultAzureCredential  # noqa: PLC0415 - only needed in Azure

    return DefaultAzureCredential(managed_identity_client_id=client_id)
