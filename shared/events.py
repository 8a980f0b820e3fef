"""The event contract: CloudEvents 1.0 published on topic `finetune-events` (DESIGN section 5).

Events travel in structured mode: the whole CloudEvent is the message body, serialised here and
nowhere else (`serialize_event` / `parse_event`), with content type `application/cloudevents+json`.

Event ids are deterministic: `<run id>:<event type>:<attempt>:<sequence>` (or, were that longer than
Service Bus allows for a message id, `<run id prefix>:<sha256 of it>`), so a retried activity
re-publishes the same id and the topic's duplicate detection drops the copy. `attempt` counts
re-runs of the same run (the `retry` command), so a retried run's events are new events.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

CONTENT_TYPE: Final = "application/cloudevents+json"
DATA_CONTENT_TYPE: Final = "application/json"
EVENT_SOURCE: Final = "/phi-finetune-orchestrator"
MAX_ID_LENGTH: Final = 128
RESERVED_DATA_KEYS: Final = frozenset({"runId", "sequence", "stage", "state"})


class EventType(StrEnum):
    """Every event type the service publishes: `finetune.<stage>.<outcome>`."""

    RUN_ACCEPTED = "finetune.run.accepted"
    VALIDATION_SUCCEEDED = "finetune.validation.succeeded"
    VALIDATION_FAILED = "finetune.validation.failed"
    PREPARATION_SUCCEEDED = "finetune.preparation.succeeded"
    PREPARATION_FAILED = "finetune.preparation.failed"
    TRAINING_SUBMITTED = "finetune.training.submitted"
    TRAINING_STATUS_CHANGED = "finetune.training.status_changed"
    TRAINING_SUCCEEDED = "finetune.training.succeeded"
    TRAINING_FAILED = "finetune.training.failed"
    DEPLOYMENT_SUCCEEDED = "finetune.deployment.succeeded"
    DEPLOYMENT_FAILED = "finetune.deployment.failed"
    SMOKETEST_PASSED = "finetune.smoketest.passed"
    SMOKETEST_FAILED = "finetune.smoketest.failed"
    APPROVAL_REQUESTED = "finetune.approval.requested"
    APPROVAL_GRANTED = "finetune.approval.granted"
    APPROVAL_REJECTED = "finetune.approval.rejected"
    PROMOTION_SUCCEEDED = "finetune.promotion.succeeded"
    CLEANUP_SUCCEEDED = "finetune.cleanup.succeeded"
    RUN_SUCCEEDED = "finetune.run.succeeded"
    RUN_FAILED = "finetune.run.failed"
    RUN_CANCELED = "finetune.run.canceled"
    RUN_REJECTED = "finetune.run.rejected"

    @property
    def stage(self) -> str:
        """The `<stage>` part of the type."""
        return self.value.split(".")[1]

    @property
    def outcome(self) -> str:
        """The `<outcome>` part of the type."""
        return self.value.split(".")[2]


class EventData(BaseModel):
    """The `data` of every event: the run, its per-run sequence number, stage and state, plus stage facts.

    Stage facts (validation summary, job id, endpoint name, smoke results, what cleanup removed) are
    extra keys next to the four fixed ones.
    """

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    run_id: str = Field(alias="runId", min_length=1)
    sequence: int = Field(ge=0, description="Per-run, increasing: consumers order and de-duplicate by it.")
    stage: str = Field(min_length=1)
    state: str = Field(min_length=1)

    @property
    def facts(self) -> dict[str, Any]:
        """The stage facts (everything but runId, sequence, stage and state)."""
        return dict(self.model_extra or {})


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 event as published on `finetune-events` (structured mode)."""

    model_config = ConfigDict(frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, max_length=MAX_ID_LENGTH)
    source: str = Field(min_length=1)
    type: EventType
    subject: str = Field(min_length=1, description="The run id.")
    time: AwareDatetime
    datacontenttype: Literal["application/json"] = DATA_CONTENT_TYPE
    data: EventData

    @property
    def run_id(self) -> str:
        """The run this event is about."""
        return self.subject


class InvalidEventError(ValueError):
    """A message body is not a CloudEvent of this service."""


def event_id(run_id: str, event_type: EventType, sequence: int, attempt: int = 0) -> str:
    """The deterministic id of an event (also its Service Bus `message_id`, at most 128 characters)."""
    natural = f"{run_id}:{event_type.value}:{attempt}:{sequence}"
    if len(natural) <= MAX_ID_LENGTH:
        return natural
    digest = hashlib.sha256(natural.encode()).hexdigest()
    return f"{run_id[: MAX_ID_LENGTH - len(digest) - 1]}:{digest}"


def build_event(
    run_id: str,
    event_type: EventType,
    sequence: int,
    *,
    state: str,
    time: datetime,
    data: dict[str, Any] | None = None,
    attempt: int = 0,
    source: str = EVENT_SOURCE,
) -> CloudEvent:
    """An event with a deterministic id; `time` comes from the caller (an orchestrator's clock).

    `data` holds the stage facts; it may not redefine `runId`, `sequence`, `stage` or `state`.
    """
    facts = dict(data or {})
    clashes = RESERVED_DATA_KEYS.intersection(facts)
    if clashes:
        raise ValueError(f"event data may not set {', '.join(sorted(clashes))}: the builder sets them")
    return CloudEvent(
        id=event_id(run_id, event_type, sequence, attempt),
        source=source,
        type=event_type,
        subject=run_id,
        time=time,
        data=EventData(runId=run_id, sequence=sequence, stage=event_type.stage, state=state, **facts),
    )


def serialize_event(event: CloudEvent) -> bytes:
    """The structured-mode body (`application/cloudevents+json`)."""
    return orjson.dumps(event.model_dump(mode="json", by_alias=True))


def parse_event(body: bytes | str) -> CloudEvent:
    """Read a structured-mode body back; raises `InvalidEventError` saying what is wrong."""
    try:
        return CloudEvent.model_validate_json(body)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(body)'}: {e['msg']}" for e in error.errors())
        raise InvalidEventError(f"not a finetune CloudEvent: {problems}") from None
