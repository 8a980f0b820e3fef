"""host.json: the settings the README's Deploy section explains, and the links to the Bicep and the code."""

from __future__ import annotations

import json
import re
from typing import Any

from shared.settings import AZURE_SOURCES, Settings
from tests.unit.infra.bicep import INFRA_DIR, REPO_ROOT, app_settings, parameters


def _host() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((REPO_ROOT / "host.json").read_text())
    return loaded


def test_the_extension_bundle_is_v4_with_durable_blobs_and_service_bus() -> None:
    host = _host()
    assert host["version"] == "2.0"
    assert host["extensionBundle"] == {"id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "[4.*, 5.0.0)"}


def test_telemetry_goes_through_opentelemetry_and_default_logs_stay_quiet() -> None:
    host = _host()
    assert host["telemetryMode"] == "OpenTelemetry"
    levels = host["logging"]["logLevel"]
    assert levels["default"] == "Warning", "every Information line is billed ingestion"
    assert levels["Function"] == "Information"


def test_the_task_hub_name_is_the_setting_the_bicep_sets() -> None:
    hub = _host()["extensions"]["durableTask"]["hubName"]
    [setting] = re.fullmatch(r"%(\w+)%", hub).groups()  # type: ignore[union-attr]
    assert setting.lower() in Settings.model_fields
    assert AZURE_SOURCES[setting.lower()] == "bicep"
    assert setting in app_settings()


def test_orchestration_inputs_and_outputs_are_never_traced() -> None:
    tracing = _host()["extensions"]["durableTask"]["tracing"]
    assert tracing["traceInputsAndOutputs"] is False, "activity payloads carry blob URLs and run details"
    assert tracing["traceReplayEvents"] is False


def test_service_bus_messages_are_settled_by_the_host() -> None:
    service_bus = _host()["extensions"]["serviceBus"]
    assert service_bus["autoCompleteMessages"] is True, "Python functions get no settlement actions"
    assert 1 <= service_bus["maxConcurrentCalls"] <= 16


def test_concurrency_is_bounded_for_one_instance() -> None:
    durable = _host()["extensions"]["durableTask"]
    assert 1 <= durable["maxConcurrentActivityFunctions"] <= 16
    assert 1 <= durable["maxConcurrentOrchestratorFunctions"] <= 32
    assert durable["extendedSessionsEnabled"] is False


def test_the_task_hub_name_azure_gets_is_the_settings_default_and_a_valid_hub_name() -> None:
    assert app_settings()["DURABLE_TASK_HUB"] == "durableTaskHub"
    default = parameters(INFRA_DIR / "modules" / "functionapp.bicep")["durableTaskHub"]["default"]
    assert default == Settings.model_fields["durable_task_hub"].default
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]{2,44}", default), "task hub names: 3-45 letters and digits"
