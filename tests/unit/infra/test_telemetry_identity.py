"""In Azure the Application Insights component refuses keys, so the service's own exporter must send an
Entra token of the app's user-assigned identity (the client id the Bicep sets as AZURE_CLIENT_ID)."""

from __future__ import annotations

import pytest
from azure.identity import ManagedIdentityCredential

from shared import telemetry
from shared.settings import Settings
from shared.telemetry import TelemetryMode
from tests.unit.infra.bicep import app_settings

CONNECTION = "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://127.0.0.1/"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    recorded: list[dict[str, object]] = []
    monkeypatch.setattr("azure.monitor.opentelemetry.configure_azure_monitor", lambda **kw: recorded.append(kw))
    monkeypatch.setattr(telemetry, "_configured", None)
    return recorded


def test_azure_monitor_export_uses_the_managed_identity_of_azure_client_id(calls: list[dict[str, object]]) -> None:
    settings = Settings(applicationinsights_connection_string=CONNECTION, azure_client_id=CLIENT_ID)
    assert telemetry.configure_telemetry(settings) is TelemetryMode.AZURE_MONITOR
    [call] = calls
    credential = call["credential"]
    assert isinstance(credential, ManagedIdentityCredential)


def test_without_a_client_id_no_credential_is_forced(calls: list[dict[str, object]]) -> None:
    telemetry.configure_telemetry(Settings(applicationinsights_connection_string=CONNECTION))
    [call] = calls
    assert "credential" not in call


def test_the_bicep_gives_the_app_both_the_connection_string_and_the_client_id() -> None:
    settings = app_settings()
    assert "APPLICATIONINSIGHTS_CONNECTION_STRING" in settings
    assert settings["AZURE_CLIENT_ID"] == "identityClientId"
