from __future__ import annotations

import pytest
from pydantic import SecretStr

from shared.catalog import PHI3_CATALOG, base_model_spec
from shared.errors import ConfigurationError, InvalidOptionsError
from shared.settings import Settings


def test_azure_backend_outside_east_us_2_is_refused_with_the_reason() -> None:
    with pytest.raises(ConfigurationError, match="only available in eastus2"):
        Settings(foundry_backend="azure", azure_location="westeurope")


def test_local_backend_ignores_the_region_rule() -> None:
    assert Settings(foundry_backend="local", azure_location="westeurope").azure_location == "westeurope"


def test_settings_read_the_environment_by_upper_case_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEFAULT_EPOCHS", "7")
    monkeypatch.setenv("STORAGE_CONNECTION_STRING", "AccountKey=c2VjcmV0")
    settings = Settings()
    assert settings.default_epochs == 7
    assert isinstance(settings.storage_connection_string, SecretStr)
    assert "c2VjcmV0" not in repr(settings)


def test_base_model_lookup_is_case_insensitive_and_lists_choices_when_unknown() -> None:
    assert base_model_spec("phi-3-MINI-4k-instruct").context_length == 4096
    with pytest.raises(InvalidOptionsError) as raised:
        base_model_spec("gpt-4")
    for name in PHI3_CATALOG:
        assert name in str(raised.value)
