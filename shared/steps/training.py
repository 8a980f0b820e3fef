"""Training and deployment steps: submit, poll, cancel, deploy, delete. All get-or-create by name."""

from __future__ import annotations

from shared.bootstrap import Services
from shared.foundry.port import DeploymentRequest, DeploymentState, JobState, TrainingRequest
from shared.models import DeployInput, DeploymentRef, JobRef, MonitorKind, NameInput, PollInput, PollStatus, SubmitInput
from shared.names import FAMILY_TAG, MANAGED_BY_TAG, MANAGED_BY_VALUE, RUN_ID_TAG
from shared.steps.naming import deployment_name_for, job_name_for


def managed_tags(run_id: str, family: str) -> dict[str, str]:
    """The tags on everything a run creates; retention only ever touches resources carrying them."""
    return {MANAGED_BY_TAG: MANAGED_BY_VALUE, FAMILY_TAG: family, RUN_ID_TAG: run_id}


def submit_training_job(services: Services, request: SubmitInput) -> JobRef:
    """Submit the run's job, or find the one an earlier attempt submitted."""
    options = request.options
    training = TrainingRequest(
        job_name=job_name_for(request.run_id),
        run_id=request.run_id,
        family=options.family,
        base_model=options.base_model,
        training_data_uri=request.prepared.training_data_uri,
        validation_data_uri=request.prepared.validation_data_uri,
        epochs=options.epochs,
        learning_rate=options.learning_rate,
        batch_size=options.batch_size,
        output_model_prefix=f"{options.family}-{options.suffix}" if options.suffix else options.family,
        tags=managed_tags(request.run_id, options.family),
    )
    status = services.backend.submit_job(training)
    return JobRef(job_name=status.job_name, state=status.state.value)


def get_status(services: Services, request: PollInput) -> PollStatus:
    """The normalised status of a job or deployment, as the monitor needs it."""
    backend = services.backend
    if request.kind is MonitorKind.TRAINING:
        job = backend.get_job(request.name)
        metrics = job.metrics
        return PollStatus(
            state=job.state.value,
            terminal=job.state.is_terminal,
            succeeded=job.state is JobState.SUCCEEDED,
            detail=job.message,
            progress=job.progress,
            train_loss=metrics.train_loss if metrics else None,
            validation_loss=metrics.validation_loss if metrics else None,
        )
    deployment = backend.get_deployment(request.name)
    terminal = deployment.state in {DeploymentState.SUCCEEDED, DeploymentState.FAILED, DeploymentState.NOT_FOUND}
    detail = deployment.message or (
        "the deployment no longer exists" if deployment.state is DeploymentState.NOT_FOUND else ""
    )
    return PollStatus(
        state=deployment.state.value,
        terminal=terminal,
        succeeded=deployment.state is DeploymentState.SUCCEEDED,
        detail=detail,
    )


def cancel_training_job(services: Services, request: NameInput) -> JobRef:
    """Ask the job to stop (a job that already ended stays as it is)."""
    status = services.backend.cancel_job(request.name)
    return JobRef(job_name=status.job_name, state=status.state.value)


def create_deployment(services: Services, request: DeployInput) -> DeploymentRef:
    """Deploy the job's model under the run's deployment name, or find the earlier attempt's deployment."""
    backend = services.backend
    model = backend.get_output_model(request.job_name)
    name = deployment_name_for(request.run_id)
    backend.create_deployment(
        DeploymentRequest(name=name, model=model, tags=managed_tags(request.run_id, request.family))
    )
    return DeploymentRef(name=name, model_name=model.name, model_version=model.version)


def delete_deployment(services: Services, request: NameInput) -> DeploymentRef | None:
    """Delete a deployment (one already gone is fine)."""
    services.backend.delete_deployment(request.name)
    return None
