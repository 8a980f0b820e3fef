"""Fine-tuned models in the AI Foundry project: listing this service's models and archiving them."""

from __future__ import annotations

import logging

from azure.ai.ml.constants import ListViewType
from azure.core.exceptions import HttpResponseError

from shared.foundry.azure_client import AzureClients
from shared.foundry.azure_errors import is_not_found, translated_errors
from shared.foundry.azure_mapping import is_managed, workspace_model_id
from shared.foundry.port import ModelRef

logger = logging.getLogger(__name__)


def list_managed_models(clients: AzureClients, family: str) -> list[ModelRef]:
    """Every active (not archived) model version tagged as this service's and of `family`."""
    client = clients.workspace
    workspace = clients.workspace_info()
    found: list[ModelRef] = []
    with translated_errors(f"listing the models of family {family!r}"):
        for container in client.models.list(list_view_type=ListViewType.ACTIVE_ONLY):
            for model in client.models.list(name=container.name, list_view_type=ListViewType.ACTIVE_ONLY):
                if not is_managed(model.tags, family):
                    continue
                name, version = str(model.name), str(model.version)
                found.append(
                    ModelRef(
                        name=name,
                        version=version,
                        uri=workspace_model_id(workspace.location, workspace.workspace_id, name, version),
                        tags=dict(model.tags or {}),
                    )
                )
    return found


def archive_model(clients: AzureClients, name: str, version: str) -> None:
    """Archive one model version; a version already archived or gone is not an error."""
    client = clients.workspace
    with translated_errors(f"archiving model {name!r} version {version!r}"):
        try:
            client.models.archive(name, version=version)
        except HttpResponseError as error:
            if not is_not_found(error):
                raise
            logger.info("model %s:%s does not exist; nothing to archive", name, version)
            return
    logger.info("model %s:%s archived", name, version)
