"""Least privilege: the app identity gets exactly the data-plane roles it needs, each on the narrowest
resource, each named with guid() (idempotent re-deployments) and typed ServicePrincipal."""

from __future__ import annotations

from shared import names
from tests.unit.infra.bicep import Resource, function_call, resources, variables

STORAGE_BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
STORAGE_QUEUE_DATA_CONTRIBUTOR = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
STORAGE_TABLE_DATA_CONTRIBUTOR = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"
SERVICE_BUS_DATA_SENDER = "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39"
SERVICE_BUS_DATA_RECEIVER = "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0"
AZURE_AI_DEVELOPER = "64702f94-c441-49e6-a78b-ef80e0188fee"
MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"

APP_ROLES = {
    (STORAGE_BLOB_DATA_OWNER, "Microsoft.Storage/storageAccounts", "account"),
    (STORAGE_QUEUE_DATA_CONTRIBUTOR, "Microsoft.Storage/storageAccounts", "account"),
    (STORAGE_TABLE_DATA_CONTRIBUTOR, "Microsoft.Storage/storageAccounts", "account"),
    (SERVICE_BUS_DATA_SENDER, "Microsoft.ServiceBus/namespaces/topics", "eventsTopic"),
    (SERVICE_BUS_DATA_RECEIVER, "Microsoft.ServiceBus/namespaces/queues", "commandsQueue"),
    (AZURE_AI_DEVELOPER, "Microsoft.MachineLearningServices/workspaces", "project"),
    (MONITORING_METRICS_PUBLISHER, "Microsoft.Insights/components", "applicationInsights"),
}


def _assignments() -> list[Resource]:
    return list(resources("Microsoft.Authorization/roleAssignments"))


def _role_id(assignment: Resource) -> str:
    call = function_call(assignment.properties["roleDefinitionId"])
    assert call is not None, f"{assignment.where()}: roleDefinitionId is not subscriptionResourceId(...)"
    name, arguments = call
    assert name == "subscription_resource_id", assignment.where()
    assert arguments["resource_type"] == "Microsoft.Authorization/roleDefinitions", assignment.where()
    role = arguments["resource_name_1"]
    return str(variables(assignment.file).get(role, role))


def _scope(assignment: Resource) -> Resource:
    symbol = assignment.config.get("scope")
    assert isinstance(symbol, str), f"{assignment.where()}: no explicit resource scope (would default to the group)"
    scoped = [r for r in resources() if r.file == assignment.file and r.symbol == symbol]
    assert len(scoped) == 1, f"{assignment.where()}: scope {symbol} is not a resource of the same file"
    return scoped[0]


def test_the_app_identity_has_exactly_the_roles_it_needs_on_the_narrowest_scopes() -> None:
    granted = set()
    for assignment in _assignments():
        if assignment.properties["principalId"] == "appPrincipalId":
            scope = _scope(assignment)
            granted.add((_role_id(assignment), scope.type, scope.symbol))
    assert granted == APP_ROLES


def test_every_role_assignment_is_named_with_guid_of_scope_principal_and_role() -> None:
    assignments = _assignments()
    assert len(assignments) >= len(APP_ROLES)
    for assignment in assignments:
        call = function_call(assignment.config["name"])
        assert call is not None, f"{assignment.where()}: name is not guid(...)"
        name, arguments = call
        assert name == "guid", assignment.where()
        assert len([value for value in arguments.values() if value is not None]) >= 3, assignment.where()


def test_service_identities_are_typed_service_principal() -> None:
    for assignment in _assignments():
        principal = assignment.properties["principalId"]
        principal_type = assignment.properties["principalType"]
        if principal == "userPrincipalId":
            assert principal_type == "userPrincipalType", assignment.where()
        else:
            assert principal_type == "ServicePrincipal", assignment.where()


def test_people_get_only_data_roles_and_only_when_a_principal_id_is_given() -> None:
    user_roles = set()
    for assignment in _assignments():
        if assignment.properties["principalId"] != "userPrincipalId":
            continue
        assert assignment.condition == {
            "operator": {
                "type": "not",
                "operands": {
                    "bool_value": {"function": {"type": "empty", "parameters": {"item_to_test": "userPrincipalId"}}}
                },
            }
        }, f"{assignment.where()}: must be deployed only if (!empty(userPrincipalId))"
        user_roles.add((_role_id(assignment), _scope(assignment).symbol))
    assert user_roles == {
        (STORAGE_BLOB_DATA_CONTRIBUTOR, "account"),
        (SERVICE_BUS_DATA_RECEIVER, "eventsTopic"),
        (SERVICE_BUS_DATA_SENDER, "commandsQueue"),
    }


def test_the_foundry_project_may_only_read_the_reports_container_where_prepared_files_are() -> None:
    grants = {
        (_role_id(a), _scope(a).symbol)
        for a in _assignments()
        if a.properties["principalId"] == "foundryProjectPrincipalId"
    }
    assert grants == {(STORAGE_BLOB_DATA_READER, "reportsContainer")}
    assert _scope_container_name() == names.REPORTS_CONTAINER


def _scope_container_name() -> str:
    [assignment] = [a for a in _assignments() if a.properties["principalId"] == "foundryProjectPrincipalId"]
    container = _scope(assignment)
    return str(variables(container.file).get(container.config["name"], container.config["name"]))
