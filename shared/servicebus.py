"""The `EventPublisher` port and its azure-servicebus adapter, plus helpers for received messages.

Each CloudEvent becomes one Service Bus message: the structured-mode body, `message_id` = the event id
(deterministic, so duplicate detection drops a re-sent event), `subject` = the event type, application
properties `eventType`, `runId`, `stage`, `outcome` for subscription filters, and `traceparent` /
`Diagnostic-Id` from the current OpenTelemetry span. Events are sent in as few `ServiceBusMessageBatch`es
as fit. Transient faults are retried by the SDK's own retry policy (configured here); what is left
surfaces as `TransientError` (retry the activity) or `PermanentError`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from opentelemetry import trace
from pydantic import SecretStr

from shared.commands import Command, CommandName, parse_command
from shared.errors import ConfigurationError, PermanentError, TransientError
from shared.events import CONTENT_TYPE, CloudEvent, serialize_event

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential
    from azure.servicebus import ServiceBusMessageBatch
    from azure.servicebus.aio import ServiceBusClient, ServiceBusSender
    from azure.servicebus.amqp import AmqpAnnotatedMessage

    from shared.settings import Settings

__all__ = [
    "Command",
    "CommandName",
    "EventPublisher",
    "ServiceBusEventPublisher",
    "application_properties_for",
    "identity_credential",
    "message_for",
    "normalise_properties",
    "parse_command",
    "trace_properties",
]

CLOSE_TIMEOUT_SECONDS = 30.0
PARTITION_KEY_ANNOTATION = b"x-opt-partition-key"


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


def message_for(
    event: CloudEvent, *, use_sessions: bool = False, trace_context: Mapping[str, str] | None = None
) -> AmqpAnnotatedMessage:
    """The Service Bus message that carries one event.

    Built as the SDK's `AmqpAnnotatedMessage` (the same AMQP message a `ServiceBusMessage` becomes, at a
    fifth of the construction cost). With sessions, `group-id` is the session id and the partition key
    annotation equals it, as Service Bus requires. `trace_context` defaults to the current span's.
    """
    from azure.servicebus.amqp import AmqpAnnotatedMessage  # noqa: PLC0415 - keep the SDK out of import time

    properties: dict[str, Any] = {"message_id": event.id, "subject": event.type.value, "content_type": CONTENT_TYPE}
    annotations: dict[Any, Any] | None = None  # the SDK keys annotations by bytes, as it reads them
    if use_sessions:
        properties["group_id"] = event.run_id
        annotations = {PARTITION_KEY_ANNOTATION: event.run_id}
    application_properties: dict[str, Any] = {}
    application_properties.update(application_properties_for(event))
    application_properties.update(trace_properties() if trace_context is None else trace_context)
    return AmqpAnnotatedMessage(
        data_body=serialize_event(event),
        properties=properties,
        application_properties=application_properties,
        annotations=annotations,
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

    The SDK's asyncio client runs on an event-loop thread of this publisher, and `publish` waits for it.
    So while one batch is on the wire the loop encodes the next (encoding is most of the SDK's work), and
    the waiting caller does not contend with the loop for the GIL, as a thread per send would. The loop,
    client and sender are built on first use (never at import time) and reused; `close()` ends them.
    """

    def __init__(
        self,
        *,
        topic: str,
        connection_string: SecretStr | None = None,
        fully_qualified_namespace: str | None = None,
        credential: AsyncTokenCredential | None = None,  # owned by the caller; else one is made and closed here
        managed_identity_client_id: str | None = None,
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
        self._managed_identity_client_id = managed_identity_client_id
        self._use_sessions = use_sessions
        self._retry: dict[str, Any] = {
            "retry_total": retry_total,
            "retry_backoff_factor": retry_backoff_factor,
            "retry_backoff_max": retry_backoff_max,
            "retry_mode": "exponential",
        }
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._client: ServiceBusClient | None = None
        self._sender: ServiceBusSender | None = None
        self._owned_credential: AsyncTokenCredential | None = None

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
            managed_identity_client_id=settings.azure_client_id,
        )

    def publish(self, events: Sequence[CloudEvent]) -> None:
        """Send the events in as few batches as fit, in order."""
        if not events:
            return
        from azure.servicebus.exceptions import ServiceBusError  # noqa: PLC0415 - keep the SDK out of import time

        trace_context = trace_properties()  # the caller's span: the loop thread has no current span
        with self._lock:
            sending = asyncio.run_coroutine_threadsafe(self._send(events, trace_context), self._running_loop())
            try:
                sending.result()
            except ServiceBusError as error:
                kind = PermanentError if type(error).__name__ in _PERMANENT_ERRORS else TransientError
                raise kind(f"publishing {len(events)} event(s) to '{self._topic}' failed: {error.message}") from None

    def close(self) -> None:
        """Close the sender and the client and stop the loop (the next publish starts them again)."""
        with self._lock:
            loop, thread = self._loop, self._loop_thread
            if loop is None or thread is None:
                return
            try:
                asyncio.run_coroutine_threadsafe(self._close_client(), loop).result(CLOSE_TIMEOUT_SECONDS)
            finally:
                loop.call_soon_threadsafe(loop.stop)
                thread.join(CLOSE_TIMEOUT_SECONDS)
                loop.close()
                self._loop = self._loop_thread = None

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="servicebus-publisher", daemon=True)
            thread.start()
            self._loop, self._loop_thread = loop, thread
        return self._loop

    async def _get_sender(self) -> ServiceBusSender:
        if self._sender is None:
            from azure.servicebus.aio import ServiceBusClient  # noqa: PLC0415 - lazily, see the class docstring

            if self._connection_string is not None:
                self._client = ServiceBusClient.from_connection_string(
                    self._connection_string.get_secret_value(), **self._retry
                )
            else:
                assert self._namespace is not None
                credential = self._credential
                if credential is None:
                    credential = self._owned_credential = identity_credential(self._managed_identity_client_id)
                self._client = ServiceBusClient(self._namespace, credential, **self._retry)
            self._sender = self._client.get_topic_sender(self._topic)
        return self._sender

    async def _send(self, events: Sequence[CloudEvent], trace_context: Mapping[str, str]) -> None:
        sender = await self._get_sender()
        if len(events) == 1:  # one plain message: no batch envelope to build and encode
            await sender.send_messages(self._message(events[0], trace_context))
            return
        # A batch is sent once the one before it was accepted: order holds, and a failure stops the rest.
        in_flight: asyncio.Task[None] | None = None
        try:
            async for batch in self._batches(sender, events, trace_context):
                if in_flight is not None:
                    await in_flight
                in_flight = asyncio.ensure_future(sender.send_messages(batch))
                await asyncio.sleep(0)  # the send writes its frames before the next batch is encoded
            if in_flight is not None:
                await in_flight
        finally:
            if in_flight is not None and not in_flight.done():
                await asyncio.gather(in_flight, return_exceptions=True)

    async def _batches(
        self, sender: ServiceBusSender, events: Sequence[CloudEvent], trace_context: Mapping[str, str]
    ) -> AsyncIterator[ServiceBusMessageBatch]:
        """The events packed into as few full `ServiceBusMessageBatch`es as they fit, in order."""
        from azure.servicebus.exceptions import MessageSizeExceededError  # noqa: PLC0415

        batch = await sender.create_message_batch()
        for event in events:
            message = self._message(event, trace_context)
            try:
                batch.add_message(message)
            except MessageSizeExceededError:
                if len(batch) == 0:
                    raise PermanentError(f"event {event.id} is larger than a Service Bus message may be") from None
                yield batch
                batch = await sender.create_message_batch()
                batch.add_message(message)
        yield batch

    def _message(self, event: CloudEvent, trace_context: Mapping[str, str]) -> AmqpAnnotatedMessage:
        return message_for(event, use_sessions=self._use_sessions, trace_context=trace_context)

    async def _close_client(self) -> None:
        sender, client, credential = self._sender, self._client, self._owned_credential
        self._sender = self._client = self._owned_credential = None
        if sender is not None:
            await sender.close()
        if client is not None:
            await client.close()
        if credential is not None:
            await credential.close()


def identity_credential(client_id: str | None) -> AsyncTokenCredential:
    """The asyncio `DefaultAzureCredential` (managed identity in Azure; `client_id` for a user-assigned one)."""
    from azure.identity.aio import DefaultAzureCredential  # noqa: PLC0415 - only needed in Azure

    return DefaultAzureCredential(managed_identity_client_id=client_id)
