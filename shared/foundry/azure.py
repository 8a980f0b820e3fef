"""`AzureFoundryBackend`: the `FineTuningBackend` port over Azure AI Foundry (`azure-ai-ml` 1.35.2).

Fine-tuning is models-as-a-service (serverless) fine-tuning of the Phi-3 family with the chat
completion task; deployments are serverless endpoints. Each method is idempotent by name, clients
are built on first use, and SDK faults come out as `TransientError` / `PermanentError`.
The work is done by the `azure_*` modules; this class only wires them to the port.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.pipeline.transport import HttpTransport
from pydantic import SecretStr

from shared.foundry import azure_endpoints, azure_jobs, azure_models
from shared.foundry.azure_client import AzureClients
from shared.foundry.port import (
    DeploymentRequest,
    DeploymentStatus,
    FineTuningBackend,
    JobStatus,
    ModelRef,
    TrainingRequest,
)
from shared.settings import Settings


class AzureFoundryBackend(FineTuningBackend):
    """Fine-tuning and serving on Azure AI Foundry; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        *,
        credential: TokenCredential | None = None,
        transport: HttpTransport[Any, Any] | None = None,
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        """`credential`, `transport` and `client_options` (azure-core keywords such as `retry_total`) are for tests."""
        self._clients = AzureClients(
            settings, credential=credential, transport=transport, client_options=client_options
        )

    def register_dataset(self, name: str, blob_uri: str) -> str:
        """Register the blob as a `uri_file` data asset; returns `azureml:<name>:<version>`."""
        return azure_jobs.register_dataset(self._clients, name, blob_uri)

    def submit_job(self, request: TrainingRequest) -> JobStatus:
        """Submit the fine-tuning job, or return it when it exists."""
        return azure_jobs.submit_job(self._clients, request)

    def get_job(self, job_name: str) -> JobStatus:
        """The job's normalised status."""
        return azure_jobs.job_status(azure_jobs.get_job_entity(self._clients, job_name))

    def cancel_job(self, job_name: str) -> JobStatus:
        """Request cancellation unless the job has ended."""
        return azure_jobs.cancel_job(self._clients, job_name)

    def get_output_model(self, job_name: str) -> ModelRef:
        """The model the completed job registered (tagged as ours)."""
        return azure_jobs.output_model(self._clients, job_name)

    def create_deployment(self, request: DeploymentRequest) -> DeploymentStatus:
        """Start the serverless endpoint, or return it when it exists."""
        return azure_endpoints.create_deployment(self._clients, request)

    def get_deployment(self, name: str) -> DeploymentStatus:
        """The endpoint's normalised provisioning state."""
        return azure_endpoints.get_deployment(self._clients, name)

    def delete_deployment(self, name: str) -> None:
        """Start deleting the endpoint (a missing one is fine)."""
        azure_endpoints.delete_deployment(self._clients, name)

    def get_deployment_key(self, name: str) -> SecretStr:
        """The endpoint's primary key, for the smoke test only."""
        return azure_endpoints.get_deployment_key(self._clients, name)

    def list_managed_deployments(self, family: str) -> list[DeploymentStatus]:
        """This service's endpoints of `family`."""
        return azure_endpoints.list_managed_deployments(self._clients, family)

    def list_managed_models(self, family: str) -> list[ModelRef]:
        """This service's active models of `family`."""
        return azure_models.list_managed_models(self._clients, family)

    def archive_model(self, name: str, version: str) -> None:
        """Archive the model version (already archived or missing is fine)."""
        azure_models.archive_model(self._clients, name, version)
