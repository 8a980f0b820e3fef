from __future__ import annotations

import sys
import types

import pytest
from pydantic import SecretStr

from shared.errors import ConfigurationError
from shared.foundry.azure import AzureFoundryBackend
from shared.foundry.factory import LOCAL_BACKEND_MODULE, backend_from_settings
from shared.settings import Settings


def test_the_azure_setting_builds_the_azure_adapter_without_calling_azure() -> None:
    backend = backend_from_settings(
        Settings(
            foundry_backend="azure", azure_subscription_id="s", azure_resource_group="g", azure_ai_project_name="p"
        )
    )
    assert isinstance(backend, AzureFoundryBackend)


def test_the_local_setting_builds_the_local_adapter_with_its_url_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    class LocalFoundryBackend:
        def __init__(self, base_url: str, management_key: SecretStr | None) -> None:
            self.base_url = base_url
            self.management_key = management_key

    module = types.ModuleType(LOCAL_BACKEND_MODULE)
    module.LocalFoundryBackend = LocalFoundryBackend  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, LOCAL_BACKEND_MODULE, module)
    settings = Settings(
        foundry_backend="local", local_foundry_url="http://127.0.0.1:7999", local_foundry_key=SecretStr("k-1")
    )
    backend = backend_from_settings(settings)
    assert isinstance(backend, LocalFoundryBackend)
    assert backend.base_url == "http://127.0.0.1:7999"
    assert backend.management_key == SecretStr("k-1")


def test_a_missing_local_adapter_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, LOCAL_BACKEND_MODULE, None)  # makes the import fail
    with pytest.raises(ConfigurationError, match=r"FOUNDRY_BACKEND=local needs shared\.foundry\.local"):
        backend_from_settings(Settings(foundry_backend="local"))
