"""The `FineTuningBackend` port: what the service needs of Azure AI Foundry (or the local foundry).

Every method is idempotent: submitting a job or creating a deployment under a name that already exists
returns the existing one. Names are deterministic (derived from the run id) so a retried activity finds
what its earlier attempt created. Endpoint keys are only returned by `get_deployment_key`, which only
the smoke-test activity calls; nothing else ever carries a key.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, Field, SecretStr


class JobState(StrEnum):
    """A training job's state, normalised across backends."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_terminal(self) -> bool:
        """Whether the job can no longer change state."""
        return self in {JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELED}


class DeploymentState(StrEnum):
    """A deployment's provisioning state, normalised across backends."""

    PROVISIONING = "provisioning"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DELETING = "deleting"
    NOT_FOUND = "not_found"


class LossPoint(BaseModel):
    """One point of a loss curve."""

    step: int
    epoch: float
    train_loss: float | None = None
    validation_loss: float | None = None


class TrainingMetrics(BaseModel):
    """Metrics a job reports, when the backend has them."""

    train_loss: float | None = None
    validation_loss: float | None = None
    curve: list[LossPoint] = Field(default_factory=list)


class TrainingRequest(BaseModel):
    """Everything needed to submit one fine-tuning job."""

    job_name: str
    run_id: str
    family: str
    base_model: str
    training_data_uri: str
    validation_data_uri: str
    epochs: int
    learning_rate: float
    batch_size: int
    output_model_prefix: str
    tags: dict[str, str] = Field(default_factory=dict)


class JobStatus(BaseModel):
    """A job's normalised status."""

    job_name: str
    state: JobState
    message: str = ""
    progress: float | None = None
    metrics: TrainingMetrics | None = None


class ModelRef(BaseModel):
    """A registered (fine-tuned) model."""

    name: str
    version: str
    uri: str
    tags: dict[str, str] = Field(default_factory=dict)
    archived: bool = False


class DeploymentRequest(BaseModel):
    """Everything needed to create one deployment (a serverless endpoint)."""

    name: str
    model: ModelRef
    tags: dict[str, str] = Field(default_factory=dict)


class DeploymentStatus(BaseModel):
    """A deployment's normalised status; `scoring_uri` is set once it serves."""

    name: str
    state: DeploymentState
    model: ModelRef | None = None
    scoring_uri: str | None = None
    message: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    created_at: str | None = None


class FineTuningBackend(Protocol):
    """Fine-tuning and serving of Phi-3 models. Transient faults raise `TransientError`."""

    def register_dataset(self, name: str, blob_uri: str) -> str:
        """Register a prepared JSONL file as a dataset; returns the URI to give a training request."""
        ...

    def submit_job(self, request: TrainingRequest) -> JobStatus:
        """Start the job named `request.job_name`, or return it when it exists already."""
        ...

    def get_job(self, job_name: str) -> JobStatus:
        """The job's current status."""
        ...

    def cancel_job(self, job_name: str) -> JobStatus:
        """Ask the job to stop; a job already ended is returned unchanged."""
        ...

    def get_output_model(self, job_name: str) -> ModelRef:
        """The model a succeeded job registered."""
        ...

    def create_deployment(self, request: DeploymentRequest) -> DeploymentStatus:
        """Start provisioning the deployment, or return it when it exists already."""
        ...

    def get_deployment(self, name: str) -> DeploymentStatus:
        """The deployment's status (`NOT_FOUND` when it does not exist)."""
        ...

    def delete_deployment(self, name: str) -> None:
        """Delete the deployment; deleting one that does not exist is not an error."""
        ...

    def get_deployment_key(self, name: str) -> SecretStr:
        """The deployment's key, for the smoke test only."""
        ...

    def list_managed_deployments(self, family: str) -> list[DeploymentStatus]:
        """Deployments tagged `managed-by=phi-finetune-orchestrator` and `family=<family>`."""
        ...

    def list_managed_models(self, family: str) -> list[ModelRef]:
        """Models tagged `managed-by=phi-finetune-orchestrator` and `family=<family>`."""
        ...

    def archive_model(self, name: str, version: str) -> None:
        """Archive a model version (models cannot be deleted); archiving twice is not an error."""
        ...
