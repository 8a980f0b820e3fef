"""The app's triggers (read from `function_app.app`, as the Functions host indexes them) and the infra agree:
the Event Grid webhook names the blob trigger, every connection a trigger names has identity-based app
settings, every connection the Bicep configures is used, and the entities exist under those names."""

from __future__ import annotations

from functools import cache

from devhost.functions_host.discovery import BlobBinding, FunctionTrigger, ServiceBusBinding, discover_triggers
from shared import names
from tests.unit.infra.bicep import MAIN_BICEP, app_settings, parameters

IDENTITY_SUFFIXES = {"credential", "clientId"}


@cache
def _triggers() -> tuple[FunctionTrigger, ...]:
    import function_app  # noqa: PLC0415 -- importing the app registers its functions; only these tests need it

    function_app.app.functions_bindings = None  # get_functions() refuses a second call otherwise
    try:
        return tuple(discover_triggers(function_app.app, environ={}))
    finally:
        function_app.app.functions_bindings = None


def _connections_in_bicep() -> dict[str, set[str]]:
    connections: dict[str, set[str]] = {}
    for setting in app_settings():
        if "__" in setting:
            prefix, _, suffix = setting.partition("__")
            connections.setdefault(prefix, set()).add(suffix)
    return connections


def test_the_event_grid_webhook_calls_the_blob_trigger_of_the_training_container() -> None:
    blob = [t for t in _triggers() if isinstance(t.binding, BlobBinding)]
    assert len(blob) == 1, [t.name for t in blob]
    [trigger] = blob
    assert isinstance(trigger.binding, BlobBinding)
    assert trigger.binding.source == "EventGrid", "Flex Consumption runs blob triggers from Event Grid only"
    assert trigger.binding.container == names.TRAINING_CONTAINER
    assert parameters(MAIN_BICEP)["blobTriggerFunctionName"]["default"] == trigger.name


def test_every_trigger_connection_is_identity_based_in_the_bicep() -> None:
    connections = _connections_in_bicep()
    for trigger in _triggers():
        connection = getattr(trigger.binding, "connection", None)
        if connection is None:
            continue
        assert connection in connections, f"{trigger.name} uses connection {connection!r}, which the Bicep does not set"
        assert connections[connection] >= IDENTITY_SUFFIXES, f"{connection} must say __credential and __clientId"
        assert connections[connection] & {"fullyQualifiedNamespace", "blobServiceUri"}, connection


def test_every_connection_the_bicep_configures_is_used_by_a_trigger() -> None:
    used = {getattr(t.binding, "connection", None) for t in _triggers()}
    assert set(_connections_in_bicep()) <= used | {"AzureWebJobsStorage"}


def test_service_bus_triggers_read_entities_the_bicep_creates() -> None:
    service_bus = [t.binding for t in _triggers() if isinstance(t.binding, ServiceBusBinding)]
    assert service_bus
    for binding in service_bus:
        assert binding.queue_name == names.COMMANDS_QUEUE or (binding.topic_name, binding.subscription_name) in {
            (names.EVENTS_TOPIC, names.ALL_EVENTS_SUBSCRIPTION),
            (names.EVENTS_TOPIC, names.FAILURES_SUBSCRIPTION),
        }
        assert not binding.is_sessions_enabled, "the queue and subscriptions are created without sessions"
