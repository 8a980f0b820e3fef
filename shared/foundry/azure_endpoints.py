"""Serverless endpoints (pay-as-you-go deployments) of fine-tuned models on Azure AI Foundry.

Long-running operations are started with `polling=False`: the orchestration's monitor polls the
provisioning state with durable timers, so no thread of ours waits on Azure.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from azure.ai.ml.entities import ServerlessEndpoint
from azure.core.exceptions import HttpResponseError
from pydantic import SecretStr

from shared import names
from shared.errors import PermanentError
from shared.foundry.azure_client import AzureClients
from shared.foundry.azure_errors import is_not_found, translated_errors
from shared.foundry.azure_mapping import (
    DEPLOYMENT_NAME_TAG,
    endpoint_name,
    is_managed,
    model_ref_from_id,
)
from shared.foundry.azure_status import map_deployment_state
from shared.foundry.port import DeploymentRequest, DeploymentState, DeploymentStatus

logger = logging.getLogger(__name__)


def deployment_status(endpoint: Any) -> DeploymentStatus:
    """The port's view of an SDK `ServerlessEndpoint`."""
    tags = dict(endpoint.tags or {})
    state = map_deployment_state(endpoint.provisioning_state)
    created = getattr(getattr(endpoint, "system_data", None), "created_at", None)
    return DeploymentStatus(
        name=tags.get(DEPLOYMENT_NAME_TAG, str(endpoint.name)),
        state=state,
        model=model_ref_from_id(endpoint.model_id),
        scoring_uri=endpoint.scoring_uri if state is DeploymentState.SUCCEEDED else None,
        message=f"provisioning state: {endpoint.provisioning_state or 'not reported yet'}",
        tags=tags,
        created_at=created.isoformat() if isinstance(created, datetime) else None,
    )


def _find(clients: AzureClients, name: str) -> Any | None:
    client = clients.workspace
    azure_name = endpoint_name(name)
    with translated_errors(f"reading deployment {name!r}"):
        try:
            return client.serverless_endpoints.get(azure_name)
        except HttpResponseError as error:
            if is_not_found(error):
                return None
            raise


def create_deployment(clients: AzureClients, request: DeploymentRequest) -> DeploymentStatus:
    """Start provisioning a serverless endpoint for the model, or return the endpoint that exists."""
    existing = _find(clients, request.name)
    if existing is not None:
        logger.info("deployment %s exists already; not creating it again", request.name)
        return deployment_status(existing)
    if model_ref_from_id(request.model.uri) is None:
        raise PermanentError(
            f"deployment {request.name!r}: model uri {request.model.uri!r} is not a workspace model id "
            "(azureml://locations/<region>/workspaces/<id>/models/<name>/versions/<version>)"
        )
    azure_name = endpoint_name(request.name)
    inherited = {k: v for k, v in request.model.tags.items() if k in {names.FAMILY_TAG, names.RUN_ID_TAG}}
    tags = {**inherited, **request.tags, names.MANAGED_BY_TAG: names.MANAGED_BY_VALUE}
    if azure_name != request.name:
        tags[DEPLOYMENT_NAME_TAG] = request.name
    endpoint = ServerlessEndpoint(name=azure_name, model_id=request.model.uri, tags=tags)
    endpoint.location = clients.workspace_info().location
    client = clients.workspace
    with translated_errors(f"creating deployment {request.name!r}"):
        try:
            poller = client.serverless_endpoints.begin_create_or_update(endpoint, polling=False)
            created = poller.result()
        except HttpResponseError as error:
            if error.status_code != 409:
                raise
            created = client.serverless_endpoints.get(azure_name)  # another attempt created it first
    logger.info("deployment %s (endpoint %s) of model %s:%s started", request.name, azure_name, *_model(request))
    if created is None:
        return DeploymentStatus(name=request.name, state=DeploymentState.PROVISIONING, model=request.model, tags=tags)
    return deployment_status(created)


def _model(request: DeploymentRequest) -> tuple[str, str]:
    return request.model.name, request.model.version


def get_deployment(clients: AzureClients, name: str) -> DeploymentStatus:
    """The deployment's status, `NOT_FOUND` when there is no such endpoint."""
    endpoint = _find(clients, name)
    if endpoint is None:
        return DeploymentStatus(name=name, state=DeploymentState.NOT_FOUND, message="no such serverless endpoint")
    return deployment_status(endpoint)


def delete_deployment(clients: AzureClients, name: str) -> None:
    """Start deleting the endpoint; one that does not exist is not an error."""
    client = clients.workspace
    with translated_errors(f"deleting deployment {name!r}"):
        try:
            client.serverless_endpoints.begin_delete(endpoint_name(name), polling=False)
        except HttpResponseError as error:
            if not is_not_found(error):
                raise
            logger.info("deployment %s does not exist; nothing to delete", name)
            return
    logger.info("deletion of deployment %s started", name)


def get_deployment_key(clients: AzureClients, name: str) -> SecretStr:
    """The endpoint's primary key, wrapped at once so that it cannot be printed by accident."""
    client = clients.workspace
    with translated_errors(f"reading the key of deployment {name!r}"):
        keys = client.serverless_endpoints.get_keys(endpoint_name(name))
    primary = getattr(keys, "primary_key", None)
    if not primary:
        raise PermanentError(f"deployment {name!r} has no key (its auth mode is not 'key')")
    return SecretStr(str(primary))


def list_managed_deployments(clients: AzureClients, family: str) -> list[DeploymentStatus]:
    """Every serverless endpoint tagged as this service's and of `family`."""
    client = clients.workspace
    with translated_errors(f"listing the deployments of family {family!r}"):
        endpoints = [endpoint for endpoint in client.serverless_endpoints.list() if is_managed(endpoint.tags, family)]
    return [deployment_status(endpoint) for endpoint in endpoints]
