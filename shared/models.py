"""Payloads that cross the orchestration boundary: activity inputs and results, the run's custom status.

Payloads stay small: blob names, ids and summaries, never file contents or keys.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from shared.runs import RunOptions


class Stage(StrEnum):
    """Stages of a run, in order (DESIGN section 4)."""

    ACCEPTED = "accepted"
    VALIDATING = "validating"
    PREPARING = "preparing"
    TRAINING = "training"
    DEPLOYING = "deploying"
    SMOKE_TESTING = "smoke_testing"
    AWAITING_APPROVAL = "awaiting_approval"
    PROMOTING = "promoting"
    CLEANING_UP = "cleaning_up"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    REJECTED = "rejected"


class RunOutcome(StrEnum):
    """How a run ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    REJECTED = "rejected"


class ActivityCall(BaseModel):
    """The envelope of every activity input: the payload, and the run's trace context and stage."""

    payload: dict[str, Any]
    trace: dict[str, str] = Field(default_factory=dict)
    run_id: str | None = None
    stage: str | None = None


class BlobRef(BaseModel):
    """One version of one blob."""

    container: str
    name: str
    etag: str


class RunPolicy(BaseModel):
    """Settings an orchestration needs, resolved by the starter (orchestrators read no settings)."""

    poll_initial_seconds: float
    poll_max_seconds: float
    polls_per_generation: int
    deployment_timeout_minutes: float
    approval_timeout_hours: float
    keep_previous: int


class RunInput(BaseModel):
    """The input of the pipeline orchestration."""

    run_id: str
    blob: BlobRef
    options: RunOptions
    policy: RunPolicy
    accepted_at: datetime
    trace: dict[str, str] = Field(default_factory=dict)
    retry_of: str | None = None
    option_error: str | None = Field(
        None, description="Why the upload's `ft_*` metadata options were refused (the run is rejected at validation)."
    )


class StageRecord(BaseModel):
    """When a stage started and ended, and how."""

    stage: Stage
    state: str
    started_at: datetime
    ended_at: datetime | None = None
    detail: str = ""


class RunStatus(BaseModel):
    """The custom status of a run: always `stage`, `state`, `detail`, `updated_at`, plus the stage history."""

    stage: Stage
    state: str
    detail: str
    updated_at: datetime
    run_id: str
    family: str
    stages: list[StageRecord] = Field(default_factory=list)
    job_name: str | None = None
    deployment_name: str | None = None


class ValidateInput(BaseModel):
    """Validate the uploaded file (and the validation file, when one is named)."""

    run_id: str
    blob: BlobRef
    options: RunOptions


class ValidateResult(BaseModel):
    """The verdict of validation and where its reports are."""

    valid: bool
    report_blob: str
    error_count: int
    warning_count: int
    first_errors: list[str] = Field(default_factory=list)
    examples: int
    billable_tokens: int
    estimated_cost_usd: float
    token_count_exact: bool


class PrepareInput(BaseModel):
    """Split and normalise the data, then register it with the backend."""

    run_id: str
    blob: BlobRef
    options: RunOptions


class PrepareResult(BaseModel):
    """The registered datasets and the held-out probes, or why the data could not be prepared."""

    ok: bool = True
    refusal: str | None = None
    training_data_uri: str = ""
    validation_data_uri: str = ""
    train_examples: int = 0
    validation_examples: int = 0
    probes_blob: str = ""


class SubmitInput(BaseModel):
    """Submit the fine-tuning job of a run."""

    run_id: str
    options: RunOptions
    prepared: PrepareResult


class JobRef(BaseModel):
    """The job a run submitted."""

    job_name: str
    state: str


class MonitorKind(StrEnum):
    """What a monitor waits for."""

    TRAINING = "training"
    DEPLOYMENT = "deployment"


class PollInput(BaseModel):
    """Read the status of a job or deployment."""

    kind: MonitorKind
    name: str


class PollStatus(BaseModel):
    """A normalised status, as a monitor needs it."""

    state: str
    terminal: bool
    succeeded: bool
    detail: str = ""
    progress: float | None = None
    train_loss: float | None = None
    validation_loss: float | None = None


class MonitorInput(BaseModel):
    """State of a monitor generation (carried across continue_as_new)."""

    run_id: str
    kind: MonitorKind
    name: str
    deadline: datetime
    initial_interval_s: float
    max_interval_s: float
    polls_per_generation: int
    polls_done: int = 0
    last_state: str | None = None
    next_sequence: int
    publish_status_changes: bool = False
    trace: dict[str, str] = Field(default_factory=dict)


class MonitorOutcome(StrEnum):
    """Why a monitor stopped."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    DEADLINE = "deadline"
    CANCEL_REQUESTED = "cancel_requested"


class MonitorResult(BaseModel):
    """What a monitor saw last and why it stopped."""

    outcome: MonitorOutcome
    last: PollStatus | None
    polls: int
    next_sequence: int


class NameInput(BaseModel):
    """An activity acting on one named resource of a run."""

    run_id: str
    name: str


class DeployInput(BaseModel):
    """Deploy the model a job produced."""

    run_id: str
    family: str
    job_name: str


class DeploymentRef(BaseModel):
    """A deployment a run created and the model it serves."""

    name: str
    model_name: str
    model_version: str


class SmokeInput(BaseModel):
    """Smoke-test a deployment with the held-out probes."""

    run_id: str
    deployment_name: str
    probes_blob: str


class SmokeResult(BaseModel):
    """The verdict of the smoke test and where its report is."""

    passed: bool
    score: float
    probes: int
    failures: list[str] = Field(default_factory=list)
    report_blob: str
    sample_answer: str | None = None


class PromoteInput(BaseModel):
    """Point the family's alias at the run's deployment."""

    run_id: str
    family: str
    deployment: DeploymentRef


class PromoteResult(BaseModel):
    """The alias after promotion."""

    alias_blob: str
    previous_deployment: str | None


class CleanupInput(BaseModel):
    """Apply retention to a family's deployments and models."""

    family: str
    keep_previous: int
    protected_runs: list[str] = Field(default_factory=list)
    promoted_only: bool = Field(True, description="Touch only resources of runs the alias has pointed at.")


class CleanupResult(BaseModel):
    """What retention removed."""

    deleted_deployments: list[str] = Field(default_factory=list)
    archived_models: list[str] = Field(default_factory=list)


class PublishInput(BaseModel):
    """One event to publish."""

    run_id: str
    event_type: str
    sequence: int
    state: str
    time: datetime
    data: dict[str, Any] = Field(default_factory=dict)


class TagInput(BaseModel):
    """Record a run's status in the uploaded blob's index tags."""

    blob: BlobRef
    run_id: str
    status: str


class FinalizeInput(BaseModel):
    """Write the run's summary and human-readable report."""

    run_id: str
    family: str
    outcome: RunOutcome
    reason: str
    stages: list[StageRecord]
    validation: ValidateResult | None = None
    prepared: PrepareResult | None = None
    job_name: str | None = None
    deployment: DeploymentRef | None = None
    smoke: SmokeResult | None = None
    promotion: PromoteResult | None = None
    cleanup: CleanupResult | None = None


class FinalizeResult(BaseModel):
    """Where the run's reports are."""

    summary_blob: str
    report_blob: str


class JanitorInput(BaseModel):
    """A sweep over every family: retention again, and what failed runs left behind."""

    keep_previous: int
    active_runs: list[str] = Field(default_factory=list)


class JanitorResult(BaseModel):
    """What a sweep removed, per family."""

    families: dict[str, CleanupResult] = Field(default_factory=dict)
