"""A fake Azure AI Foundry behind an azure-core transport, for offline tests of the real `azure-ai-ml` SDK.

`FakeFoundry` is passed as `MLClient(..., transport=...)`: every REST call the SDK makes lands in
`send`, is recorded (method, path, query, JSON body) and answered from in-memory state with bodies
shaped like the ARM / registry responses (the fields the SDK reads). Faults can be queued per route.
An unexpected call fails the test loudly instead of being answered.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from azure.core.credentials import AccessToken, AccessTokenInfo, TokenRequestOptions
from azure.core.exceptions import ServiceRequestError
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest._requests_basic import RestRequestsTransportResponse

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
RESOURCE_GROUP = "rg-phi"
PROJECT = "proj-phi"
LOCATION = "eastus2"
WORKSPACE_ID = "5a1c0de5-0000-4000-8000-00000000beef"
PROVIDER = "providers/Microsoft.MachineLearningServices"
WS = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/{PROVIDER}/workspaces/{PROJECT}"
REGISTRY_SUB = "registry-sub"
REGISTRY_RG = "registry-rg"
REGISTRY_HOST = "registry.fake.azureml.net"
REGISTRY = f"/subscriptions/{REGISTRY_SUB}/resourceGroups/{REGISTRY_RG}/{PROVIDER}/registries/azureml"


class FakeCredential:
    """A `TokenCredential` that hands out a fixed token without any network."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("fake-token", 4_102_444_800)

    def get_token_info(self, *scopes: str, options: TokenRequestOptions | None = None) -> AccessTokenInfo:
        return AccessTokenInfo("fake-token", 4_102_444_800)


@dataclass
class Call:
    """One REST call the SDK made."""

    method: str
    host: str
    path: str
    query: dict[str, str]
    body: Any


@dataclass
class Fault:
    """An answer queued for the next `times` calls matching `method` and the `path` regex."""

    method: str
    path: str
    status: int | None
    times: int = 1
    body: dict[str, Any] = field(default_factory=lambda: {"error": {"code": "Injected", "message": "injected"}})


Handler = Callable[[Call], tuple[int, Any]]


class FakeFoundry(HttpTransport[Any, Any]):
    """In-memory AI Foundry project + `azureml` registry, speaking the SDK's REST calls."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.registry_versions: dict[str, list[str]] = {
            "Phi-3-mini-4k-instruct": ["14", "15"],
            "Phi-3-mini-128k-instruct": ["13"],
            "Phi-3.5-mini-instruct": ["6"],
        }
        self.data: dict[tuple[str, str], dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.models: dict[tuple[str, str], dict[str, Any]] = {}
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.keys = {"primaryKey": "pk-SECRET-primary-0001", "secondaryKey": "sk-SECRET-secondary-0002"}
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("GET", re.compile(r"/registrymanagement/v1\.0/registries/azureml/discovery"), self._discovery),
            ("GET", re.compile(rf".*{re.escape(REGISTRY)}/models/(?P<name>[^/]+)/versions"), self._registry_versions),
            (
                "GET",
                re.compile(rf".*{re.escape(REGISTRY)}/models/(?P<name>[^/]+)/versions/(?P<v>[^/]+)"),
                self._registry_version,
            ),
            ("GET", re.compile(rf"{re.escape(WS)}"), self._workspace),
            ("GET", re.compile(rf"{re.escape(WS)}/data/(?P<name>[^/]+)/versions/(?P<v>[^/]+)"), self._data_get),
            ("PUT", re.compile(rf"{re.escape(WS)}/data/(?P<name>[^/]+)/versions/(?P<v>[^/]+)"), self._data_put),
            ("GET", re.compile(rf"{re.escape(WS)}/jobs/(?P<name>[^/]+)"), self._job_get),
            ("PUT", re.compile(rf"{re.escape(WS)}/jobs/(?P<name>[^/]+)"), self._job_put),
            ("POST", re.compile(rf"{re.escape(WS)}/jobs/(?P<name>[^/]+)/cancel"), self._job_cancel),
            ("GET", re.compile(rf"{re.escape(WS)}/models"), self._model_containers),
            ("GET", re.compile(rf"{re.escape(WS)}/models/(?P<name>[^/]+)/versions"), self._model_versions),
            ("GET", re.compile(rf"{re.escape(WS)}/models/(?P<name>[^/]+)/versions/(?P<v>[^/]+)"), self._model_get),
            ("PUT", re.compile(rf"{re.escape(WS)}/models/(?P<name>[^/]+)/versions/(?P<v>[^/]+)"), self._model_put),
            ("GET", re.compile(rf"{re.escape(WS)}/serverlessEndpoints"), self._endpoint_list),
            ("GET", re.compile(rf"{re.escape(WS)}/serverlessEndpoints/(?P<name>[^/]+)"), self._endpoint_get),
            ("PUT", re.compile(rf"{re.escape(WS)}/serverlessEndpoints/(?P<name>[^/]+)"), self._endpoint_put),
            ("DELETE", re.compile(rf"{re.escape(WS)}/serverlessEndpoints/(?P<name>[^/]+)"), self._endpoint_delete),
            ("POST", re.compile(rf"{re.escape(WS)}/serverlessEndpoints/(?P<name>[^/]+)/listKeys"), self._endpoint_keys),
        ]
        self._match: re.Match[str] | None = None

    # --- azure-core transport ---------------------------------------------------------------------------

    def __enter__(self) -> FakeFoundry:
        return self

    def __exit__(self, *args: object) -> None:
        return None

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def send(self, request: Any, **kwargs: Any) -> RestRequestsTransportResponse:
        url = urlsplit(request.url)
        raw = request.body
        body = json.loads(raw) if raw else None
        call = Call(request.method, url.hostname or "", url.path, dict(parse_qsl(url.query)), body)
        self.calls.append(call)
        status, payload = self._answer(call)
        return _response(request, status, payload)

    def _answer(self, call: Call) -> tuple[int, Any]:
        for fault in self.faults:
            if fault.times > 0 and fault.method == call.method and re.fullmatch(fault.path, call.path):
                fault.times -= 1
                if fault.status is None:
                    raise ServiceRequestError("injected connection failure")
                return fault.status, fault.body
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(call.path)
            if method == call.method and match:
                self._match = match
                return handler(call)
        raise AssertionError(f"unexpected REST call {call.method} {call.path}")

    def fail(self, method: str, path: str, status: int | None, times: int = 1) -> None:
        """Answer the next `times` calls to `method` + `path` (a regex) with `status` (None: no answer)."""
        self.faults.append(Fault(method, path, status, times))

    def requests_to(self, method: str, path_regex: str) -> list[Call]:
        """The recorded calls with this method whose path matches `path_regex`."""
        return [c for c in self.calls if c.method == method and re.fullmatch(path_regex, c.path)]

    # --- state helpers for tests ---------------------------------------------------------------------------

    def set_job_status(self, name: str, status: str) -> None:
        self.jobs[name]["properties"]["status"] = status

    def complete_job(self, name: str, model_version: str = "1") -> None:
        """Mark the job Completed and register its output model (as Foundry does)."""
        job = self.jobs[name]
        job["properties"]["status"] = "Completed"
        output = job["properties"]["outputs"]["registered_model"]
        output["assetVersion"] = model_version
        output["uri"] = f"azureml://jobs/{name}/outputs/registered_model"
        self.add_model(output["assetName"], model_version, tags={})

    def add_model(self, name: str, version: str, tags: dict[str, str]) -> None:
        self.models[(name, version)] = {
            "id": f"{WS}/models/{name}/versions/{version}",
            "name": version,
            "properties": {
                "tags": tags,
                "properties": {},
                "isArchived": False,
                "modelType": "mlflow_model",
                "modelUri": f"azureml://locations/{LOCATION}/workspaces/{WORKSPACE_ID}/models/{name}/versions/{version}",
                "flavors": {"python_function": {"data": {"loader_module": "mlflow.transformers"}}},
            },
        }

    def add_endpoint(self, name: str, tags: dict[str, str], state: str = "Succeeded", model_id: str = "") -> None:
        self.endpoints[name] = self._endpoint_body(name, tags, model_id, state)

    # --- handlers ---------------------------------------------------------------------------------------

    def _group(self, key: str) -> str:
        assert self._match is not None
        return self._match.group(key)

    def _discovery(self, call: Call) -> tuple[int, Any]:
        return 200, {
            "registryName": "azureml",
            "primaryRegion": "eastus",
            "regions": ["eastus"],
            "subscriptionId": REGISTRY_SUB,
            "resourceGroup": REGISTRY_RG,
            "primaryRegionResourceProviderUri": f"https://{REGISTRY_HOST}/",
        }

    def _registry_versions(self, call: Call) -> tuple[int, Any]:
        name = self._group("name")
        versions = self.registry_versions.get(name, [])
        newest_first = sorted(versions, key=int, reverse=True)[: int(call.query.get("$top", "100"))]
        return 200, {"value": [_registry_model(name, v) for v in newest_first]}

    def _registry_version(self, call: Call) -> tuple[int, Any]:
        name, version = self._group("name"), self._group("v")
        if version not in self.registry_versions.get(name, []):
            return _not_found("registry model version")
        return 200, _registry_model(name, version)

    def _workspace(self, call: Call) -> tuple[int, Any]:
        return 200, {
            "id": WS,
            "name": PROJECT,
            "location": LOCATION,
            "kind": "Project",
            "properties": {"workspaceId": WORKSPACE_ID, "discoveryUrl": f"https://{LOCATION}.api.azureml.ms/discovery"},
        }

    def _data_get(self, call: Call) -> tuple[int, Any]:
        key = (self._group("name"), self._group("v"))
        return (200, self.data[key]) if key in self.data else _not_found("data version")

    def _data_put(self, call: Call) -> tuple[int, Any]:
        name, version = self._group("name"), self._group("v")
        self.data[(name, version)] = {"id": f"{WS}/data/{name}/versions/{version}", "name": version, **call.body}
        return 201, self.data[(name, version)]

    def _job_get(self, call: Call) -> tuple[int, Any]:
        name = self._group("name")
        return (200, self.jobs[name]) if name in self.jobs else _not_found("job")

    def _job_put(self, call: Call) -> tuple[int, Any]:
        name = self._group("name")
        if name in self.jobs:
            return 409, {"error": {"code": "Conflict", "message": f"job {name} already exists"}}
        body = json.loads(json.dumps(call.body))
        body["properties"]["status"] = "NotStarted"
        body["properties"].setdefault("properties", {})
        self.jobs[name] = {"id": f"{WS}/jobs/{name}", "name": name, "type": "jobs", **body}
        return 201, self.jobs[name]

    def _job_cancel(self, call: Call) -> tuple[int, Any]:
        name = self._group("name")
        if name not in self.jobs:
            return _not_found("job")
        self.jobs[name]["properties"]["status"] = "CancelRequested"
        return 202, None

    def _model_containers(self, call: Call) -> tuple[int, Any]:
        names = sorted({name for name, _ in self.models})
        return 200, {"value": [{"id": f"{WS}/models/{n}", "name": n, "properties": {"tags": {}}} for n in names]}

    def _model_versions(self, call: Call) -> tuple[int, Any]:
        name = self._group("name")
        found = [
            body
            for (n, _), body in sorted(self.models.items(), key=lambda kv: int(kv[0][1]), reverse=True)
            if n == name
        ]
        if call.query.get("listViewType") == "ActiveOnly":
            found = [body for body in found if not body["properties"]["isArchived"]]
        return 200, {"value": found[: int(call.query.get("$top", "100"))]}

    def _model_get(self, call: Call) -> tuple[int, Any]:
        key = (self._group("name"), self._group("v"))
        return (200, self.models[key]) if key in self.models else _not_found("model version")

    def _model_put(self, call: Call) -> tuple[int, Any]:
        key = (self._group("name"), self._group("v"))
        self.models[key] = {**self.models.get(key, {}), "id": f"{WS}/models/{key[0]}/versions/{key[1]}", "name": key[1]}
        self.models[key]["properties"] = call.body["properties"]
        return 200, self.models[key]

    def _endpoint_body(self, name: str, tags: dict[str, str], model_id: str, state: str) -> dict[str, Any]:
        return {
            "id": f"{WS}/serverlessEndpoints/{name}",
            "name": name,
            "type": "Microsoft.MachineLearningServices/workspaces/serverlessEndpoints",
            "location": LOCATION,
            "tags": tags,
            "sku": {"name": "Consumption"},
            "systemData": {"createdAt": "2026-11-26T10:00:00Z"},
            "properties": {
                "authMode": "Key",
                "provisioningState": state,
                "modelSettings": {"modelId": model_id},
                "inferenceEndpoint": {"uri": f"https://{name}.{LOCATION}.models.ai.azure.com", "headers": {}},
            },
        }

    def _endpoint_list(self, call: Call) -> tuple[int, Any]:
        return 200, {"value": list(self.endpoints.values())}

    def _endpoint_get(self, call: Call) -> tuple[int, Any]:
        name = self._group("name")
        return (200, self.endpoints[name]) if name in self.endpoints else _not_found("serverless endpoint")

    def _endpoint_put(self, call: Call) -> tuple[int, Any]:
        name = self._group("name")
        model_id = call.body["properties"]["modelSettings"]["modelId"]
        self.endpoints[name] = self._endpoint_body(name, call.body.get("tags") or {}, model_id, "Creating")
        return 201, self.endpoints[name]

    def _endpoint_delete(self, call: Call) -> tuple[int, Any]:
        name = self._group("name")
        if name not in self.endpoints:
            return 204, None
        self.endpoints[name]["properties"]["provisioningState"] = "Deleting"
        return 202, None

    def _endpoint_keys(self, call: Call) -> tuple[int, Any]:
        return (200, self.keys) if self._group("name") in self.endpoints else _not_found("serverless endpoint")


def _registry_model(name: str, version: str) -> dict[str, Any]:
    return {
        "id": f"azureml://registries/azureml/models/{name}/versions/{version}",
        "name": version,
        "properties": {"modelType": "mlflow_model", "flavors": {}, "tags": {}, "properties": {}},
    }


def _not_found(what: str) -> tuple[int, Any]:
    return 404, {"error": {"code": "UserError", "message": f"the {what} was not found"}}


def _response(request: Any, status: int, payload: Any) -> RestRequestsTransportResponse:
    content = b"" if payload is None else json.dumps(payload).encode()
    raw = requests.Response()
    raw.status_code = status
    raw.headers["Content-Type"] = "application/json"
    raw.url = request.url
    raw.raw = io.BytesIO(content)
    raw._content = content
    raw._content_consumed = True
    response = RestRequestsTransportResponse(request=request, internal_response=raw)
    response._content = content
    return response
