"""Publishing a run's events and recording its status on the uploaded blob."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.trace import SpanKind

from shared.bootstrap import Services
from shared.events import CloudEvent, EventType, build_event
from shared.models import PublishInput, TagInput
from shared.names import BLOB_RUN_ID_TAG, BLOB_STATUS_TAG
from shared.telemetry import instruments, span


def publish_event(services: Services, request: PublishInput) -> None:
    """Publish one CloudEvent; its id is deterministic, so a retried publish is dropped as a duplicate."""
    event = build_event(
        request.run_id,
        EventType(request.event_type),
        request.sequence,
        state=request.state,
        data=request.data,
        time=request.time,
    )
    publish_events(services, [event])


def publish_events(services: Services, events: Sequence[CloudEvent]) -> None:
    """Send events in a producer span (its trace context rides on each message) and count them."""
    attributes = {"run.id": events[0].subject if events else None, "messaging.batch.message_count": len(events)}
    with span("servicebus send", attributes, kind=SpanKind.PRODUCER):
        services.publisher.publish(events)
    for event in events:
        instruments().event_published(event.type.value)


def tag_training_blob(services: Services, request: TagInput) -> None:
    """Record the run id and its status in the uploaded blob's index tags (the blob itself is never changed)."""
    services.store.set_tags(
        request.blob.container, request.blob.name, {BLOB_RUN_ID_TAG: request.run_id, BLOB_STATUS_TAG: request.status}
    )
