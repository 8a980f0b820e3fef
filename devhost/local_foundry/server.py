"""The foundry's HTTP server on 127.0.0.1: the management API (`/api/...`) and the deployments' endpoints.

Scoring: `POST <scoring_uri>/v1/chat/completions`, where `scoring_uri` is `<url>/deployments/<name>`
(as Azure's serverless endpoints), with the key as `Authorization: Bearer <key>` or `api-key: <key>`.
`POST <url>/v1/chat/completions` with `"model": "<deployment>"` works too.

Management (`/api/...`, except `/api/health`) needs the foundry's management key the same way: it hands out
deployment keys, so another process on the machine must not use it freely (in Azure, an Entra ID token).
The key is made once per data directory, in `<data_dir>/management/api.key` (readable by this user only).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, SecretStr, TypeAdapter, ValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from devhost.local_foundry.chat_data import DatasetError, check_uri
from devhost.local_foundry.config import FoundryConfig, FoundryFaults
from devhost.local_foundry.deployments import Deployments, KeyStore
from devhost.local_foundry.errors import ConflictError, FoundryError, NotFoundError
from devhost.local_foundry.jobs import JobRunner
from devhost.local_foundry.registry import Registry
from devhost.local_foundry.serving import ChatCompletionRequest, ModelServer
from devhost.local_foundry.views import DatasetBody, KeyView, deployment_status, job_view, model_ref
from shared.errors import ConfigurationError
from shared.foundry.port import DeploymentRequest, DeploymentState, JobState, TrainingRequest

log = logging.getLogger(__name__)

LOOPBACK = {"127.0.0.1", "localhost"}
MANAGEMENT_KEY_NAME = "api"
_OPEN_ENDPOINTS = frozenset({"health", "chat"})  # chat checks the deployment's own key
GARBAGE = b"<html><body>upstream hiccup \x00\x01 not json"

Body = TypeVar("Body", bound=BaseModel)

_ROUTES = Map(
    [
        Rule("/api/health", endpoint="health", methods=["GET"]),
        Rule("/api/datasets", endpoint="register_dataset", methods=["POST"]),
        Rule("/api/jobs", endpoint="submit_job", methods=["POST"]),
        Rule("/api/jobs/<name>", endpoint="get_job", methods=["GET"]),
        Rule("/api/jobs/<name>/cancel", endpoint="cancel_job", methods=["POST"]),
        Rule("/api/jobs/<name>/model", endpoint="job_model", methods=["GET"]),
        Rule("/api/models", endpoint="list_models", methods=["GET"]),
        Rule("/api/models/<name>/versions/<version>/archive", endpoint="archive_model", methods=["POST"]),
        Rule("/api/deployments", endpoint="create_deployment", methods=["POST"]),
        Rule("/api/deployments", endpoint="list_deployments", methods=["GET"]),
        Rule("/api/deployments/<name>", endpoint="get_deployment", methods=["GET"]),
        Rule("/api/deployments/<name>", endpoint="delete_deployment", methods=["DELETE"]),
        Rule("/api/deployments/<name>/keys", endpoint="deployment_key", methods=["POST"]),
        Rule("/api/faults", endpoint="get_faults", methods=["GET"]),
        Rule("/api/faults", endpoint="put_faults", methods=["PUT"]),
        Rule("/deployments/<name>/v1/chat/completions", endpoint="chat", methods=["POST"]),
        Rule("/v1/chat/completions", endpoint="chat", methods=["POST"]),
    ]
)


def _json(body: BaseModel | list[Any] | dict[str, Any], status: int = 200) -> Response:
    if isinstance(body, BaseModel):
        return Response(body.model_dump_json(), status=status, mimetype="application/json")
    return Response(TypeAdapter(Any).dump_json(body), status=status, mimetype="application/json")


def _error(status: int, code: str, message: str) -> Response:
    return _json({"error": {"code": code, "message": message, "type": "invalid_request_error"}}, status)


def _parse(model: type[Body], request: Request) -> Body:
    try:
        return model.model_validate_json(request.get_data() or b"{}")
    except ValidationError as error:
        details = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'body'}: {item['msg']}" for item in error.errors()
        )
        raise FoundryError(f"invalid {model.__name__} body: {details}") from None


def _presented_key(request: Request) -> str | None:
    authorization = request.headers.get("Authorization", "")
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return request.headers.get("api-key")


class FoundryApp:
    """The WSGI application: routes requests to the job runner, the deployments and the model server."""

    def __init__(self, foundry: LocalFoundry) -> None:
        self._foundry = foundry

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        try:
            endpoint, arguments = _ROUTES.bind_to_environ(environ).match()
            if endpoint not in _OPEN_ENDPOINTS and not self._foundry.accepts_management_key(_presented_key(request)):
                refused = _error(
                    401,
                    "Unauthorized",
                    "the management API needs the foundry's management key (Authorization: Bearer <key>; "
                    "it is in <data dir>/management/api.key)",
                )
                refused.headers["WWW-Authenticate"] = "Bearer"
                return refused(environ, start_response)
            response: Response = getattr(self, f"_{endpoint}")(request, **arguments)
        except FoundryError as error:
            response = _error(error.status, error.code, str(error))
        except HTTPException as error:
            response = _error(error.code or 500, type(error).__name__, error.description or "")
        except Exception:
            log.exception("local foundry: %s %s failed", request.method, request.path)
            response = _error(500, "InternalError", "the local foundry failed to handle the request")
        return response(environ, start_response)

    # Management API
    def _health(self, request: Request) -> Response:
        return _json({"status": "ok"})

    def _register_dataset(self, request: Request) -> Response:
        body = _parse(DatasetBody, request)
        try:
            check_uri(body.uri)
        except DatasetError as error:
            raise FoundryError(str(error)) from None
        return _json({"name": body.name, "uri": self._foundry.registry.put_dataset(body.name, body.uri)})

    def _job(self, name: str) -> Response:
        record = self._foundry.jobs.get(name)
        model = (
            self._foundry.registry.get_model(record.model_name, record.model_version)
            if record.model_name and record.model_version
            else None
        )
        return _json(job_view(record, self._foundry.jobs.files(name).read_progress(), model))

    def _submit_job(self, request: Request) -> Response:
        record, created = self._foundry.jobs.submit(_parse(TrainingRequest, request))
        response = self._job(record.name)
        response.status_code = 201 if created else 200
        return response

    def _get_job(self, request: Request, name: str) -> Response:
        return self._job(name)

    def _cancel_job(self, request: Request, name: str) -> Response:
        self._foundry.jobs.cancel(name)
        return self._job(name)

    def _job_model(self, request: Request, name: str) -> Response:
        record = self._foundry.jobs.get(name)
        if record.state != JobState.SUCCEEDED or not record.model_name or not record.model_version:
            raise ConflictError(f"job {name!r} has no output model: it is {record.state.value}")
        return _json(model_ref(self._foundry.deployments.model(record.model_name, record.model_version)))

    def _list_models(self, request: Request) -> Response:
        return _json([model_ref(model).model_dump(mode="json") for model in self._foundry.registry.models()])

    def _archive_model(self, request: Request, name: str, version: str) -> Response:
        return _json(model_ref(self._foundry.deployments.archive(name, version)))

    def _deployment(self, name: str) -> Response:
        record = self._foundry.deployments.get(name)
        model = self._foundry.registry.get_model(record.model_name, record.model_version)
        return _json(deployment_status(record, model, self._foundry.url))

    def _create_deployment(self, request: Request) -> Response:
        record, created = self._foundry.deployments.create(_parse(DeploymentRequest, request))
        response = self._deployment(record.name)
        response.status_code = 201 if created else 200
        return response

    def _list_deployments(self, request: Request) -> Response:
        registry, url = self._foundry.registry, self._foundry.url
        return _json(
            [
                deployment_status(record, registry.get_model(record.model_name, record.model_version), url).model_dump(
                    mode="json"
                )
                for record in self._foundry.deployments.all()
            ]
        )

    def _get_deployment(self, request: Request, name: str) -> Response:
        return self._deployment(name)

    def _delete_deployment(self, request: Request, name: str) -> Response:
        self._foundry.deployments.delete(name)
        return Response(status=204)

    def _deployment_key(self, request: Request, name: str) -> Response:
        return _json(KeyView(key=self._foundry.deployments.key(name)))

    def _get_faults(self, request: Request) -> Response:
        return _json(self._foundry.faults)

    def _put_faults(self, request: Request) -> Response:
        self._foundry.faults = _parse(FoundryFaults, request)
        return _json(self._foundry.faults)

    # Deployments' endpoints
    def _chat(self, request: Request, name: str | None = None) -> Response:
        if name is None:
            body = _parse(ChatCompletionRequest, request)
            if not body.model:
                raise FoundryError("'model' (the deployment name) is required on /v1/chat/completions")
            name = body.model
        deployments = self._foundry.deployments
        try:
            record = deployments.get(name)
        except NotFoundError:
            return _error(404, "DeploymentNotFound", f"no deployment named {name!r}")
        if not self._foundry.keys.accepts(name, _presented_key(request)):
            response = _error(401, "Unauthorized", "a valid key is required (Authorization: Bearer <key> or api-key)")
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        if record.state != DeploymentState.SUCCEEDED:
            return _error(503, "DeploymentNotReady", f"deployment {name!r} is {record.state.value}")
        faults = self._foundry.faults
        if faults.matches(faults.endpoint_errors, name):
            return _error(500, "InjectedFault", "injected fault: the endpoint failed")
        if faults.matches(faults.endpoint_garbage, name):
            return Response(GARBAGE, status=200, mimetype="application/json")
        completion = self._foundry.models.complete(
            name, deployments.checkpoint(record), _parse(ChatCompletionRequest, request)
        )
        return _json(completion)


class LocalFoundry:
    """The local foundry: registry, job runner and HTTP server, started and stopped together."""

    def __init__(
        self,
        data_dir: Path | str,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        storage_connection_string: str | None = None,
        faults: FoundryFaults | None = None,
        config: FoundryConfig | None = None,
        log_requests: bool = False,
    ) -> None:
        if host not in LOOPBACK:
            raise ConfigurationError(f"the local foundry binds 127.0.0.1 only (asked for {host!r})")
        self.data_dir = Path(data_dir).resolve()
        self.host, self.port = host, port
        self.config = config or FoundryConfig()
        self.faults = faults or FoundryFaults()
        self._storage = storage_connection_string
        if not log_requests:
            logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._management_keys: KeyStore | None = None

    @property
    def url(self) -> str:
        """Base URL of the running foundry, e.g. `http://127.0.0.1:7081`."""
        if self._server is None:
            raise RuntimeError("the local foundry is not running")
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def management_key(self) -> SecretStr:
        """The key the management API asks for (made on the first start on this data directory)."""
        key = None if self._management_keys is None else self._management_keys.get(MANAGEMENT_KEY_NAME)
        if key is None:
            raise RuntimeError("the local foundry has not been started")
        return SecretStr(key)

    def accepts_management_key(self, presented: str | None) -> bool:
        """Whether `presented` is the management key (compared in constant time)."""
        return self._management_keys is not None and self._management_keys.accepts(MANAGEMENT_KEY_NAME, presented)

    @property
    def running(self) -> bool:
        """Whether the foundry serves."""
        return self._server is not None

    def start(self) -> LocalFoundry:
        """Open the registry, recover jobs, and serve HTTP in a background thread."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.registry = Registry(self.data_dir / "registry.sqlite3")
        self.keys = KeyStore(self.data_dir / "keys")
        self._management_keys = KeyStore(self.data_dir / "management")
        self._management_keys.create(MANAGEMENT_KEY_NAME)
        self.models = ModelServer(self.config.max_completion_tokens)
        self.jobs = JobRunner(self.registry, self.data_dir, self.config, lambda: self.faults, self._storage)
        self.deployments = Deployments(self.registry, self.keys, self.models, self.config, lambda: self.faults)
        try:
            self._server = make_server("127.0.0.1", self.port, FoundryApp(self), threaded=True)
        except OSError:
            self.registry.close()
            raise
        self.jobs.start()
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-foundry-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, end training processes (they restart at the next start), close the registry."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self.jobs.stop()
        self.registry.close()
        self._server = self._thread = None

    def __enter__(self) -> LocalFoundry:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
