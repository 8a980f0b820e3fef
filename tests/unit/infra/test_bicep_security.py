"""Security facts of the Azure deployment, asserted on the parsed Bicep: identity-only access, TLS 1.2,
the Service Bus entities the events contract relies on, and the region Phi-3 fine-tuning needs."""

from __future__ import annotations

import re

from shared import names
from shared.events import EventType
from shared.settings import PHI3_FINE_TUNING_REGIONS
from tests.unit.infra.bicep import (
    INFRA_DIR,
    MAIN_BICEP,
    Resource,
    app_settings,
    one,
    parameters,
    parse,
    reference,
    resources,
    variables,
)

ISO_DURATION = re.compile(r"^P(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+S)?)?$")


def _literal(resource: Resource, value: object) -> object:
    """A value as written, with a variable of the resource's own file replaced by its value."""
    if isinstance(value, str):
        return variables(resource.file).get(value, value)
    return value


def _named(type_: str) -> dict[str, Resource]:
    return {str(_literal(r, r.config["name"])): r for r in resources(type_)}


def test_every_storage_account_refuses_shared_keys_plain_http_old_tls_and_anonymous_reads() -> None:
    accounts = list(resources("Microsoft.Storage/storageAccounts"))
    assert len(accounts) == 2, [a.where() for a in accounts]
    for account in accounts:
        properties = account.properties
        assert properties["allowSharedKeyAccess"] is False, account.where()
        assert properties["supportsHttpsTrafficOnly"] is True, account.where()
        assert properties["minimumTlsVersion"] == "TLS1_2", account.where()
        assert properties["allowBlobPublicAccess"] is False, account.where()
        assert properties["defaultToOAuthAuthentication"] is True, account.where()


def test_the_service_containers_exist_with_the_names_the_code_uses_and_none_is_public() -> None:
    containers = _named("Microsoft.Storage/storageAccounts/blobServices/containers")
    expected = {names.TRAINING_CONTAINER, names.REPORTS_CONTAINER, names.STATE_CONTAINER}
    assert expected <= containers.keys()
    for container in containers.values():
        assert container.properties.get("publicAccess") == "None", container.where()


def test_the_function_app_is_flex_consumption_python_311_running_as_a_user_assigned_identity() -> None:
    plan = one("Microsoft.Web/serverfarms")
    assert plan.config["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    site = one("Microsoft.Web/sites")
    assert site.config["kind"] == "functionapp,linux"
    assert site.config["identity"]["type"] == "UserAssigned"
    assert site.properties["httpsOnly"] is True
    assert site.properties["siteConfig"]["minTlsVersion"] == "1.2"
    assert site.properties["siteConfig"]["ftpsState"] == "Disabled"
    config = site.properties["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    deployment = config["deployment"]["storage"]
    assert deployment["type"] == "blobContainer"
    assert deployment["authentication"]["type"] == "UserAssignedIdentity"
    publishing = {
        r.config["name"]: r.properties["allow"]
        for r in resources("Microsoft.Web/sites/basicPublishingCredentialsPolicies")
    }
    assert publishing == {"ftp": False, "scm": False}


def test_the_deployment_package_container_is_created_in_the_app_storage_account() -> None:
    storage = INFRA_DIR / "modules" / "storage.bicep"
    outputs = parse(storage)["outputs"]
    symbol = reference(outputs["deploymentContainerName"]["value"])
    assert symbol is not None
    container = next(
        r
        for r in resources("Microsoft.Storage/storageAccounts/blobServices/containers")
        if r.file == storage and r.symbol == symbol.split(".")[0]
    )
    assert _literal(container, container.config["name"]) not in {
        names.TRAINING_CONTAINER,
        names.REPORTS_CONTAINER,
        names.STATE_CONTAINER,
    }


def test_connections_are_identity_based_with_the_user_assigned_client_id() -> None:
    settings = app_settings()
    for connection in ("AzureWebJobsStorage", "ServiceBusConnection"):
        assert settings[f"{connection}__credential"] == "managedidentity"
        assert settings[f"{connection}__clientId"] == "identityClientId"
    for service in ("blob", "queue", "table"):
        assert (
            reference(settings[f"AzureWebJobsStorage__{service}ServiceUri"])
            == f"storageAccount.properties.primaryEndpoints.{service}"
        )
    assert (
        settings["ServiceBusConnection__fullyQualifiedNamespace"] == "${serviceBusNamespaceName}.servicebus.windows.net"
    )
    assert settings["AZURE_CLIENT_ID"] == "identityClientId"
    assert "AzureWebJobsStorage" not in settings, "a plain AzureWebJobsStorage would be a connection string"


def test_telemetry_authenticates_with_entra_and_both_monitoring_resources_refuse_local_auth() -> None:
    assert (
        app_settings()["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == "ClientId=${identityClientId};Authorization=AAD"
    )
    workspace = one("Microsoft.OperationalInsights/workspaces")
    assert workspace.properties["features"]["disableLocalAuth"] is True
    component = one("Microsoft.Insights/components")
    assert component.properties["DisableLocalAuth"] is True
    assert reference(component.properties["WorkspaceResourceId"]) == "logAnalytics.id"


def test_service_bus_refuses_sas_and_old_tls() -> None:
    namespace = one("Microsoft.ServiceBus/namespaces")
    assert namespace.properties["disableLocalAuth"] is True
    assert namespace.properties["minimumTlsVersion"] == "1.2"
    assert namespace.config["sku"]["name"] in {"Standard", "Premium"}, "topics need Standard or Premium"


def test_the_events_topic_drops_resent_events_within_a_window() -> None:
    topics = _named("Microsoft.ServiceBus/namespaces/topics")
    assert set(topics) == {names.EVENTS_TOPIC}
    topic = topics[names.EVENTS_TOPIC]
    assert topic.properties["requiresDuplicateDetection"] is True
    window_param = topic.properties["duplicateDetectionHistoryTimeWindow"]
    default = parameters(MAIN_BICEP)[window_param]["default"]
    assert ISO_DURATION.match(default), f"duplicateDetectionWindow default {default!r} is not an ISO 8601 duration"
    assert default not in {"PT0S", "P"}


def test_subscriptions_all_events_and_failures_where_failures_keeps_only_failed_outcomes() -> None:
    subscriptions = _named("Microsoft.ServiceBus/namespaces/topics/subscriptions")
    assert set(subscriptions) == {names.ALL_EVENTS_SUBSCRIPTION, names.FAILURES_SUBSCRIPTION}
    rules = list(resources("Microsoft.ServiceBus/namespaces/topics/subscriptions/rules"))
    assert len(rules) == 1, "all-events keeps its match-everything default rule; failures has exactly one"
    rule = rules[0]
    assert rule.config["parent"] == subscriptions[names.FAILURES_SUBSCRIPTION].symbol
    assert rule.config["name"] == "$Default", "only a rule named $Default replaces the match-everything rule"
    assert rule.properties["filterType"] == "CorrelationFilter"
    assert rule.properties["correlationFilter"] == {"properties": {"outcome": "failed"}}
    assert "failed" in {event.outcome for event in EventType}


def test_the_commands_queue_dead_letters_what_it_cannot_deliver() -> None:
    queues = _named("Microsoft.ServiceBus/namespaces/queues")
    assert set(queues) == {names.COMMANDS_QUEUE}
    queue = queues[names.COMMANDS_QUEUE]
    assert queue.properties["deadLetteringOnMessageExpiration"] is True
    assert 1 <= queue.properties["maxDeliveryCount"] <= 10


def test_the_foundry_hub_and_project_default_to_east_us_2_and_the_parameter_says_why() -> None:
    foundry_location = parameters(MAIN_BICEP)["foundryLocation"]
    assert foundry_location["default"] == "eastus2"
    decorators = {d["type"]: d.get("argument") for d in foundry_location["decorators"]}
    assert set(decorators["allowed"]) == set(PHI3_FINE_TUNING_REGIONS)
    assert "Phi-3 fine-tuning" in decorators["description"]
    assert "East US 2" in decorators["description"]
    assert parse(MAIN_BICEP)["modules"]["foundry"]["config"]["params"]["location"] == "foundryLocation"
    workspaces = {r.config["kind"]: r for r in resources("Microsoft.MachineLearningServices/workspaces")}
    assert set(workspaces) == {"Hub", "Project"}
    assert reference(workspaces["Project"].properties["hubResourceId"]) == f"{workspaces['Hub'].symbol}.id"
    for workspace in workspaces.values():
        assert workspace.properties["systemDatastoresAuthMode"] == "identity", workspace.where()
        assert workspace.config["location"] == "location", workspace.where()
    assert app_settings()["AZURE_LOCATION"] == "foundryLocation"


def test_the_hub_key_vault_uses_rbac_and_a_firewall() -> None:
    vault = one("Microsoft.KeyVault/vaults")
    assert vault.properties["enableRbacAuthorization"] is True
    assert vault.properties["networkAcls"]["defaultAction"] == "Deny"


def test_blob_created_events_of_jsonl_files_in_the_training_container_reach_the_blob_trigger_once() -> None:
    subscription = one("Microsoft.EventGrid/systemTopics/eventSubscriptions")
    properties = subscription.properties
    event_filter = properties["filter"]
    assert event_filter["includedEventTypes"] == ["Microsoft.Storage.BlobCreated"]
    assert event_filter["subjectBeginsWith"] == "/blobServices/default/containers/${trainingContainerName}/blobs/"
    assert parameters(subscription.file)["trainingContainerName"]["default"] == names.TRAINING_CONTAINER
    assert event_filter["subjectEndsWith"] == ".jsonl"
    [api_filter] = event_filter["advancedFilters"]
    assert api_filter["operatorType"] == "StringIn"
    assert api_filter["key"] == "data.api"
    assert set(api_filter["values"]) == {"PutBlob", "PutBlockList", "FlushWithClose", "CopyBlob"}
    assert properties["eventDeliverySchema"] == "EventGridSchema"
    destination = properties["destination"]
    assert destination["endpointType"] == "WebHook"
    url = destination["properties"]["endpointUrl"]
    assert url.startswith("https://${functionApp.properties.defaultHostName}/runtime/webhooks/blobs?")
    assert "functionName=Host.Functions.${blobTriggerFunctionName}" in url
    assert url.endswith("&code=${blobsExtensionKey}")
    key = parameters(subscription.file)["blobsExtensionKey"]
    assert {"type": "secure"} in key["decorators"], "the key must be a @secure() parameter (never logged)"
    assert key["default"] is None


def test_undeliverable_blob_events_are_dead_lettered_by_the_topic_identity_into_their_own_container() -> None:
    subscription = one("Microsoft.EventGrid/systemTopics/eventSubscriptions")
    dead_letter = subscription.properties["deadLetterWithResourceIdentity"]
    assert dead_letter["identity"] == {"type": "SystemAssigned"}
    container = dead_letter["deadLetterDestination"]["properties"]["blobContainerName"]
    assert parameters(subscription.file)[container]["default"] in _named(
        "Microsoft.Storage/storageAccounts/blobServices/containers"
    )
    topic = one("Microsoft.EventGrid/systemTopics")
    assert topic.config["identity"] == {"type": "SystemAssigned"}
    assert topic.properties["topicType"] == "Microsoft.Storage.StorageAccounts"


def test_infrastructure_never_carries_the_tag_that_lets_retention_delete_a_resource() -> None:
    tags = variables(MAIN_BICEP)["tags"]
    assert "azd-env-name" in tags
    assert names.MANAGED_BY_TAG not in tags
    for path in INFRA_DIR.rglob("*.bicep"):
        assert f"'{names.MANAGED_BY_TAG}'" not in path.read_text(), path
