"""Datasets and fine-tuning jobs on Azure AI Foundry (models-as-a-service), through `azure-ai-ml`."""

from __future__ import annotations

import logging
from typing import Any, Final

from azure.ai.ml.constants import AssetTypes
from azure.ai.ml.entities import Data
from azure.ai.ml.finetuning import FineTuningTaskType, create_finetuning_job
from azure.core.exceptions import HttpResponseError

from shared import names
from shared.errors import PermanentError
from shared.foundry.azure_client import AzureClients
from shared.foundry.azure_errors import is_not_found, translated_errors
from shared.foundry.azure_mapping import (
    check_asset_name,
    check_job_name,
    hyperparameters,
    managed_tags,
    workspace_model_id,
)
from shared.foundry.azure_status import map_job_status
from shared.foundry.port import JobState, JobStatus, ModelRef, TrainingRequest

logger = logging.getLogger(__name__)

DATASET_VERSION: Final = "1"
"""Datasets are registered once per run under a run-derived name, so one version is all they ever have."""
EXPERIMENT_NAME: Final = "phi3-finetune"
REGISTERED_MODEL_OUTPUT: Final = "registered_model"


def _status_text(job: Any) -> str | None:
    status = getattr(job, "status", None)
    return None if status is None else str(getattr(status, "value", status))


def job_status(job: Any) -> JobStatus:
    """The port's view of an SDK job entity."""
    name = str(job.name)
    mapped = map_job_status(_status_text(job))
    message = mapped.message
    studio_url = getattr(job, "studio_url", None)
    if mapped.state is JobState.FAILED and studio_url:
        message = f"{message}; details in Azure AI Foundry: {studio_url}"
    return JobStatus(job_name=name, state=mapped.state, message=message)


def register_dataset(clients: AzureClients, name: str, blob_uri: str) -> str:
    """Register `blob_uri` as a `uri_file` data asset `name` (once); returns `azureml:<name>:<version>`."""
    check_asset_name(name, "dataset")
    if not blob_uri.startswith(("https://", "azureml://", "wasbs://", "abfss://")):
        raise PermanentError(f"dataset {name!r}: {blob_uri!r} is not a blob URL (https://<account>.blob...)")
    client = clients.workspace
    reference = f"azureml:{name}:{DATASET_VERSION}"
    with translated_errors(f"registering dataset {name!r}"):
        try:
            existing = client.data.get(name, version=DATASET_VERSION)
        except HttpResponseError as error:
            if not is_not_found(error):
                raise
        else:
            if str(existing.path).rstrip("/") != blob_uri.rstrip("/"):
                raise PermanentError(
                    f"dataset {name!r} version {DATASET_VERSION} already exists for another file; "
                    "dataset names must be unique per run"
                )
            return reference
        client.data.create_or_update(
            Data(
                name=name,
                version=DATASET_VERSION,
                type=AssetTypes.URI_FILE,
                path=blob_uri,
                tags={names.MANAGED_BY_TAG: names.MANAGED_BY_VALUE},
            )
        )
    logger.info("dataset %s registered", reference)
    return reference


def find_job(clients: AzureClients, job_name: str) -> Any | None:
    """The SDK job entity named `job_name`, or None when there is none."""
    client = clients.workspace
    with translated_errors(f"reading job {job_name!r}"):
        try:
            return client.jobs.get(job_name)
        except HttpResponseError as error:
            if is_not_found(error):
                return None
            raise


def get_job_entity(clients: AzureClients, job_name: str) -> Any:
    """The SDK job entity named `job_name`; a `PermanentError` when it does not exist."""
    job = find_job(clients, check_job_name(job_name))
    if job is None:
        raise PermanentError(f"there is no fine-tuning job named {job_name!r} in the AI Foundry project")
    return job


def build_job(request: TrainingRequest, base_model_id: str) -> Any:
    """The SDK fine-tuning job for `request` (chat completion, MaaS hyperparameters, our tags)."""
    if not request.validation_data_uri:
        # azure-ai-ml 1.35.2 raises UnboundLocalError when validation_data is omitted; we always have one.
        raise PermanentError(f"job {request.job_name!r}: a validation dataset is required (none was prepared)")
    check_asset_name(request.output_model_prefix, "output model")
    job = create_finetuning_job(
        model=base_model_id,
        task=FineTuningTaskType.CHAT_COMPLETION,
        training_data=request.training_data_uri,
        validation_data=request.validation_data_uri,
        hyperparameters=hyperparameters(request),
        output_model_name_prefix=request.output_model_prefix,
    )
    job.name = request.job_name
    job.display_name = request.job_name
    job.experiment_name = EXPERIMENT_NAME
    job.tags = managed_tags(family=request.family, run_id=request.run_id, extra=request.tags)
    return job


def submit_job(clients: AzureClients, request: TrainingRequest) -> JobStatus:
    """Create the job `request.job_name`, or return it when it exists (a retried activity finds its job)."""
    check_job_name(request.job_name)
    existing = find_job(clients, request.job_name)
    if existing is not None:
        logger.info("job %s exists already; not submitting again", request.job_name)
        return job_status(existing)
    job = build_job(request, clients.base_model_id(request.base_model))
    client = clients.workspace
    with translated_errors(f"submitting job {request.job_name!r}"):
        try:
            created = client.jobs.create_or_update(job)
        except HttpResponseError as error:
            if error.status_code != 409:
                raise
            created = client.jobs.get(request.job_name)  # another attempt created it first
    logger.info("job %s submitted (%s)", request.job_name, request.base_model)
    return job_status(created)


def cancel_job(clients: AzureClients, job_name: str) -> JobStatus:
    """Ask a running job to stop; an ended job is returned unchanged, a job never created as canceled.

    Compensation cancels whatever a failed run may have started; a submission that never reached
    Azure left nothing running, which is what `CANCELED` tells the caller.
    """
    job = find_job(clients, check_job_name(job_name))
    if job is None:
        return JobStatus(job_name=job_name, state=JobState.CANCELED, message="no such job; nothing to cancel")
    status = job_status(job)
    if status.state.is_terminal:
        return status
    client = clients.workspace
    with translated_errors(f"canceling job {job_name!r}"):
        client.jobs.begin_cancel(job_name, polling=False)
    logger.info("cancellation of job %s requested", job_name)
    return job_status(get_job_entity(clients, job_name))


def output_model(clients: AzureClients, job_name: str) -> ModelRef:
    """The model a completed job registered, tagged as ours (family, run-id) so cleanup can find it."""
    job = get_job_entity(clients, job_name)
    status = job_status(job)
    if status.state is not JobState.SUCCEEDED:
        raise PermanentError(f"job {job_name!r} has no output model: it is {status.state.value} ({status.message})")
    output = (getattr(job, "outputs", None) or {}).get(REGISTERED_MODEL_OUTPUT)
    name = getattr(output, "name", None)
    if not name:
        raise PermanentError(f"job {job_name!r} completed without a {REGISTERED_MODEL_OUTPUT!r} output")
    client = clients.workspace
    with translated_errors(f"reading the model {name!r} of job {job_name!r}"):
        version = getattr(output, "version", None)
        model = client.models.get(name, version=str(version)) if version else client.models.get(name, label="latest")
        job_tags = dict(getattr(job, "tags", None) or {})
        wanted = {key: job_tags[key] for key in (names.FAMILY_TAG, names.RUN_ID_TAG) if key in job_tags}
        wanted[names.MANAGED_BY_TAG] = names.MANAGED_BY_VALUE
        tags = dict(model.tags or {})
        if any(tags.get(key) != value for key, value in wanted.items()):
            model.tags = {**tags, **wanted}
            model = client.models.create_or_update(model)
    workspace = clients.workspace_info()
    return ModelRef(
        name=str(model.name),
        version=str(model.version),
        uri=workspace_model_id(workspace.location, workspace.workspace_id, str(model.name), str(model.version)),
        tags=dict(model.tags or {}),
    )
