"""Builds the `FineTuningBackend` the settings choose; adapters are imported only when chosen."""

from __future__ import annotations

import importlib

from shared.errors import ConfigurationError
from shared.foundry.port import FineTuningBackend
from shared.settings import Settings

LOCAL_BACKEND_MODULE = "shared.foundry.local"
LOCAL_BACKEND_CLASS = "LocalFoundryBackend"


def backend_from_settings(settings: Settings) -> FineTuningBackend:
    """`AzureFoundryBackend` when `FOUNDRY_BACKEND=azure`, else the local foundry's adapter."""
    if settings.foundry_backend == "azure":
        from shared.foundry.azure import AzureFoundryBackend  # noqa: PLC0415 - azure-ai-ml takes seconds to import

        return AzureFoundryBackend(settings)
    try:
        module = importlib.import_module(LOCAL_BACKEND_MODULE)
        backend_class = getattr(module, LOCAL_BACKEND_CLASS)
    except (ImportError, AttributeError) as error:
        raise ConfigurationError(
            f"FOUNDRY_BACKEND=local needs {LOCAL_BACKEND_MODULE}.{LOCAL_BACKEND_CLASS}, which is not available "
            f"({error}); set FOUNDRY_BACKEND=azure or install the local foundry"
        ) from error
    backend: FineTuningBackend = backend_class(settings.local_foundry_url, settings.local_foundry_key)
    return backend
