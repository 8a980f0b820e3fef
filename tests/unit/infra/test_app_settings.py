"""The Function App's app settings and the settings model agree: every `Settings` field that Azure must
set is set by the Bicep, nothing else of the model is, and every other app setting is one the Functions
host reads for a connection the code names. Each field is classified in `shared/settings.AZURE_SOURCES`."""

from __future__ import annotations

from typing import get_args

from shared.settings import AZURE_SOURCES, AzureSource, Settings
from tests.unit.infra.bicep import app_settings

# App settings that are not fields of Settings: read by the Functions host itself, with the reason.
HOST_SETTINGS = {
    "AzureWebJobsStorage__blobServiceUri": "host storage, Durable task hub, blob trigger (identity connection)",
    "AzureWebJobsStorage__queueServiceUri": "Durable task hub work-item and control queues",
    "AzureWebJobsStorage__tableServiceUri": "Durable task hub instances and history tables",
    "AzureWebJobsStorage__credential": "AzureWebJobsStorage authenticates with a managed identity",
    "AzureWebJobsStorage__clientId": "the user-assigned identity of AzureWebJobsStorage",
    "ServiceBusConnection__fullyQualifiedNamespace": "the commands queue trigger (connection=ServiceBusConnection)",
    "ServiceBusConnection__credential": "ServiceBusConnection authenticates with a managed identity",
    "ServiceBusConnection__clientId": "the user-assigned identity of ServiceBusConnection",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "the host's OpenTelemetry export authenticates with Entra ID",
}
FUNCTIONAPP_BICEP = "infra/modules/functionapp.bicep"


def _env_name(field: str) -> str:
    return field.upper()


def test_every_settings_field_is_classified_for_azure() -> None:
    fields = set(Settings.model_fields)
    unclassified = sorted(fields - AZURE_SOURCES.keys())
    assert not unclassified, (
        f"Settings field(s) {unclassified} are not classified for Azure. Add each to AZURE_SOURCES at the end of "
        f"shared/settings.py as 'default' (its default suits Azure), 'devhost' (local only: connection strings, "
        f"local URLs) or 'bicep' (then also add an app setting named {[_env_name(f) for f in unclassified]} "
        f"to siteConfig.appSettings in {FUNCTIONAPP_BICEP})."
    )
    stale = sorted(AZURE_SOURCES.keys() - fields)
    assert not stale, f"AZURE_SOURCES in shared/settings.py lists {stale}, which Settings no longer has: remove them"
    assert set(AZURE_SOURCES.values()) <= set(get_args(AzureSource))


def test_the_bicep_sets_exactly_the_fields_classified_bicep() -> None:
    set_by_bicep = set(app_settings())
    for field, source in sorted(AZURE_SOURCES.items()):
        name = _env_name(field)
        if source == "bicep":
            assert name in set_by_bicep, (
                f"Settings.{field} is classified 'bicep' but {FUNCTIONAPP_BICEP} sets no app setting {name}: "
                f"add it there, or classify the field 'default' in shared/settings.py AZURE_SOURCES"
            )
        else:
            assert name not in set_by_bicep, (
                f"{FUNCTIONAPP_BICEP} sets {name}, but Settings.{field} is classified {source!r}: "
                f"classify it 'bicep' in shared/settings.py AZURE_SOURCES, or remove the app setting"
            )


def test_no_app_setting_is_unused() -> None:
    model = {_env_name(field) for field in Settings.model_fields}
    unused = sorted(set(app_settings()) - model - HOST_SETTINGS.keys())
    assert not unused, (
        f"{FUNCTIONAPP_BICEP} sets {unused}, which neither Settings nor the Functions host reads: "
        f"remove them, or add the field to shared/settings.py"
    )


def test_the_literal_bicep_settings_are_accepted_by_the_settings_model() -> None:
    literal = {name: value for name, value in app_settings().items() if isinstance(value, str) and "$" not in value}
    fields = {name: value for name, value in literal.items() if name.lower() in Settings.model_fields}
    assert fields["FOUNDRY_BACKEND"] == "azure"
    settings = Settings.model_validate(
        {name.lower(): value for name, value in fields.items()} | {"azure_location": "eastus2"}
    )
    assert settings.foundry_backend == "azure"


def test_devhost_only_fields_are_never_secrets_sent_to_azure() -> None:
    secrets = {field for field, info in Settings.model_fields.items() if "SecretStr" in str(info.annotation)}
    for field in secrets:
        assert AZURE_SOURCES[field] == "devhost" or field == "applicationinsights_connection_string", (
            f"Settings.{field} is a secret: in Azure the service authenticates with its managed identity instead"
        )
