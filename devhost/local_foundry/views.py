"""How the foundry's records look through its management API (the port's models, plus a few extras)."""

from __future__ import annotations

from pydantic import BaseModel

from devhost.local_foundry.job_files import TrainingProgress
from devhost.local_foundry.registry import DeploymentRecord, JobRecord, ModelRecord
from shared.foundry.port import DeploymentStatus, JobState, JobStatus, ModelRef, TrainingMetrics


class JobView(JobStatus):
    """A job's status with what the foundry knows besides: the process, the effective hyperparameters."""

    pid: int | None = None
    attempts: int = 0
    epochs: int
    learning_rate: float
    batch_size: int
    model: ModelRef | None = None
    validation_loss_before: float | None = None


class DatasetBody(BaseModel):
    """Body of `POST /api/datasets`."""

    name: str
    uri: str


class KeyView(BaseModel):
    """Body of `POST /api/deployments/<name>/keys`."""

    key: str


def model_ref(record: ModelRecord) -> ModelRef:
    """The port's view of a model version."""
    return ModelRef(
        name=record.name,
        version=record.version,
        uri=f"local://models/{record.name}/versions/{record.version}",
        tags=record.tags,
        archived=record.archived,
    )


def job_view(record: JobRecord, progress: TrainingProgress | None, model: ModelRecord | None) -> JobView:
    """The job's status, with progress and the loss curve from its process's last report."""
    message = record.message
    fraction: float | None = None
    metrics: TrainingMetrics | None = None
    if progress:
        if progress.total_steps:
            fraction = round(progress.step / progress.total_steps, 4)
        if record.state == JobState.RUNNING:
            message = f"{progress.phase}: step {progress.step}/{progress.total_steps}, epoch {progress.epoch:.2f}"
        metrics = TrainingMetrics(
            train_loss=progress.train_loss, validation_loss=progress.validation_loss, curve=progress.curve
        )
    if record.state == JobState.SUCCEEDED:
        fraction = 1.0
    return JobView(
        job_name=record.name,
        state=record.state,
        message=message,
        progress=fraction,
        metrics=metrics,
        pid=record.pid,
        attempts=record.attempts,
        epochs=record.epochs,
        learning_rate=record.learning_rate,
        batch_size=record.request.batch_size,
        model=model_ref(model) if model else None,
        validation_loss_before=progress.validation_loss_before if progress else None,
    )


def deployment_status(record: DeploymentRecord, model: ModelRecord | None, base_url: str) -> DeploymentStatus:
    """The port's view of a deployment; the scoring URI once it serves."""
    serving = record.state == "succeeded"
    return DeploymentStatus(
        name=record.name,
        state=record.state,
        model=model_ref(model) if model else None,
        scoring_uri=f"{base_url}/deployments/{record.name}" if serving else None,
        message=record.message,
        tags=record.tags,
        created_at=record.created_at,
    )
