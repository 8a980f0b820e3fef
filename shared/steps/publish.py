"""Publishing a run's events and recording its status on the uploaded blob."""

from __future__ import annotations

from shared.bootstrap import Services
from shared.events import EventType, build_event
from shared.models import PublishInput, TagInput
from shared.names import BLOB_RUN_ID_TAG, BLOB_STATUS_TAG


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
    services.publisher.publish([event])


def tag_training_blob(services: Services, request: TagInput) -> None:
    """Record the run id and its status in the uploaded blob's index tags (the blob itself is never changed)."""
    services.store.set_tags(
        request.blob.container, request.blob.name, {BLOB_RUN_ID_TAG: request.run_id, BLOB_STATUS_TAG: request.status}
    )
