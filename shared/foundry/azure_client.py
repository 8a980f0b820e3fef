"""The `MLClient`s the Azure adapter uses, built lazily, plus the facts it looks up once and caches.

Nothing here runs at import time: Functions indexes the app by importing it, and a registry
`MLClient` performs a discovery request as soon as it is constructed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any, Final

from azure.ai.ml import MLClient
from azure.core.credentials import TokenCredential
from azure.core.pipeline.transport import HttpTransport
from pydantic import BaseModel, ConfigDict

from shared.catalog import base_model_spec
from shared.errors import ConfigurationError, PermanentError
from shared.foundry.azure_errors import translated_errors
from shared.foundry.azure_mapping import registry_model_id
from shared.settings import Settings

logger = logging.getLogger(__name__)

MODEL_REGISTRY: Final = "azureml"
"""The public registry that holds the Phi-3 base models."""


class WorkspaceInfo(BaseModel):
    """What the adapter needs to know about the AI Foundry project (workspace)."""

    model_config = ConfigDict(frozen=True)

    name: str
    location: str
    workspace_id: str


def build_credential(settings: Settings) -> TokenCredential:
    """The user-assigned managed identity when `AZURE_CLIENT_ID` is set, else `DefaultAzureCredential`."""
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential  # noqa: PLC0415 - only the Azure home needs it

    if settings.azure_client_id:
        return ManagedIdentityCredential(client_id=settings.azure_client_id)
    return DefaultAzureCredential()


class AzureClients:
    """Lazily built workspace and registry clients, the workspace's facts and resolved base-model ids."""

    def __init__(
        self,
        settings: Settings,
        *,
        credential: TokenCredential | None = None,
        transport: HttpTransport[Any, Any] | None = None,
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        self._settings = settings
        self._client_options = dict(client_options or {})
        self._credential = credential
        self._transport = transport
        self._lock = threading.Lock()
        self._workspace_client: MLClient | None = None
        self._registry_client: MLClient | None = None
        self._workspace: WorkspaceInfo | None = None
        self._base_models: dict[str, str] = {}

    def _common_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"enable_telemetry": False, "show_progress": False, **self._client_options}
        if self._transport is not None:
            kwargs["transport"] = self._transport
        return kwargs

    def _credential_or_default(self) -> TokenCredential:
        if self._credential is None:
            self._credential = build_credential(self._settings)
        return self._credential

    @property
    def workspace(self) -> MLClient:
        """The `MLClient` of the AI Foundry project named by the settings."""
        with self._lock:
            if self._workspace_client is None:
                settings = self._settings
                missing = [
                    env
                    for env, value in (
                        ("AZURE_SUBSCRIPTION_ID", settings.azure_subscription_id),
                        ("AZURE_RESOURCE_GROUP", settings.azure_resource_group),
                        ("AZURE_AI_PROJECT_NAME", settings.azure_ai_project_name),
                    )
                    if not value
                ]
                if missing:
                    raise ConfigurationError(
                        f"FOUNDRY_BACKEND=azure needs {', '.join(missing)} (the AI Foundry project to use)"
                    )
                self._workspace_client = MLClient(
                    self._credential_or_default(),
                    subscription_id=settings.azure_subscription_id,
                    resource_group_name=settings.azure_resource_group,
                    workspace_name=settings.azure_ai_project_name,
                    **self._common_kwargs(),
                )
            return self._workspace_client

    @property
    def registry(self) -> MLClient:
        """The `MLClient` of the `azureml` registry (its constructor asks the registry discovery service)."""
        with self._lock:
            if self._registry_client is None:
                with translated_errors(f"connecting to the {MODEL_REGISTRY!r} model registry"):
                    self._registry_client = MLClient(
                        self._credential_or_default(), registry_name=MODEL_REGISTRY, **self._common_kwargs()
                    )
            return self._registry_client

    def workspace_info(self) -> WorkspaceInfo:
        """The project's name, region and workspace id (read once)."""
        if self._workspace is None:
            name = self._settings.azure_ai_project_name or ""
            client = self.workspace
            with translated_errors(f"reading the AI Foundry project {name!r}"):
                workspace = client.workspaces.get(name)
            # The workspace GUID is only exposed privately by the SDK; it is part of every model id.
            workspace_id = getattr(workspace, "_workspace_id", None)
            if not workspace.location or not workspace_id:
                raise PermanentError(f"the AI Foundry project {name!r} did not report its region and workspace id")
            self._workspace = WorkspaceInfo(name=name, location=str(workspace.location), workspace_id=workspace_id)
        return self._workspace

    def base_model_id(self, base_model: str) -> str:
        """The registry id of the latest version of a catalog base model (resolved once, then cached)."""
        spec = base_model_spec(base_model)
        cached = self._base_models.get(spec.registry_name)
        if cached is not None:
            return cached
        registry = self.registry
        with translated_errors(f"resolving the latest version of {spec.registry_name!r} in the registry"):
            model = registry.models.get(spec.registry_name, label="latest")
        if not model.version:
            raise PermanentError(f"the registry returned no version for {spec.registry_name!r}")
        model_id = registry_model_id(MODEL_REGISTRY, spec.registry_name, str(model.version))
        self._base_models[spec.registry_name] = model_id
        logger.info("base model %s resolved to %s", spec.name, model_id)
        return model_id
