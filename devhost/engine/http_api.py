"""The Durable HTTP management API subset that the SDK's `DurableOrchestrationClient` calls.

Served on 127.0.0.1 under `/runtime/webhooks/durabletask/` (the client binding's `rpcBaseUrl`):
start (`POST orchestrators/{name}[/{id}]`), status (`GET instances/{id}`), query (`GET instances/`),
raise event, terminate, purge one (`DELETE instances/{id}`) and purge by filter (`DELETE instances/`).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from devhost.engine.errors import (
    EngineError,
    InstanceAlreadyRunningError,
    InstanceGoneError,
    InstanceNotFoundError,
    InstanceStillRunningError,
    InvalidInstanceIdError,
    UnknownFunctionError,
)
from devhost.engine.history import EventType, format_time, parse_time
from devhost.engine.models import InstanceStatus, RuntimeStatus

if TYPE_CHECKING:
    from devhost.engine.engine import Engine

log = logging.getLogger(__name__)

BASE_PATH = "/runtime/webhooks/durabletask/"
CONTINUATION_HEADER = "x-ms-continuation-token"
_RUNNING = frozenset({RuntimeStatus.PENDING, RuntimeStatus.RUNNING, RuntimeStatus.CONTINUED_AS_NEW})
_HISTORY_OUTPUT_KEYS = ("Result", "Input")


class ApiError(Exception):
    """An HTTP error response: status code and a body."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(str(body))
        self.status = status
        self.body = body


def _host_error(status: int, message: str) -> ApiError:
    return ApiError(status, {"Message": message, "ExceptionMessage": message})


def status_json(
    status: InstanceStatus, *, history: list[dict[str, Any]] | None = None, show_input: bool = True
) -> dict[str, Any]:
    """An instance status in the host's JSON shape."""
    body: dict[str, Any] = {
        "name": status.name,
        "instanceId": status.instance_id,
        "runtimeStatus": status.runtime_status.value,
        "input": status.input if show_input else None,
        "customStatus": status.custom_status,
        "output": status.output,
        "createdTime": _whole_seconds(status.created_at),
        "lastUpdatedTime": _whole_seconds(status.last_updated_at),
    }
    if status.failure is not None:
        body["failureDetails"] = status.failure.model_dump()
    if history is not None:
        body["historyEvents"] = history
    return body


def _whole_seconds(moment: datetime) -> str:
    """The host's status timestamps: ISO 8601 to the second, with a `Z`."""
    return format_time(moment)[:19] + "Z"


def _history_json(events: list[dict[str, Any]], with_output: bool) -> list[dict[str, Any]]:
    shown = []
    for ev in events:
        kind = EventType(ev["EventType"])
        if kind in (EventType.ORCHESTRATOR_STARTED, EventType.ORCHESTRATOR_COMPLETED):
            continue
        item = {key: value for key, value in ev.items() if key not in ("IsPlayed", "EventType")}
        item["EventType"] = kind.name.title().replace("_", "")
        if not with_output:
            for key in _HISTORY_OUTPUT_KEYS:
                item.pop(key, None)
        shown.append(item)
    return shown


def _flag(query: dict[str, list[str]], name: str, default: bool = False) -> bool:
    values = query.get(name)
    return default if not values else values[0].lower() == "true"


def _time(query: dict[str, list[str]], name: str) -> datetime | None:
    values = query.get(name)
    if not values:
        return None
    try:
        return parse_time(values[0])
    except ValueError:
        raise _host_error(400, f"{name}={values[0]!r} is not an ISO 8601 date-time") from None


def _statuses(query: dict[str, list[str]]) -> list[str] | None:
    values = query.get("runtimeStatus")
    if not values:
        return None
    wanted = [part.strip() for value in values for part in value.split(",") if part.strip()]
    known = {s.value for s in RuntimeStatus}
    unknown = [s for s in wanted if s not in known]
    if unknown:
        raise _host_error(400, f"unknown runtimeStatus {', '.join(unknown)}; choose from {', '.join(sorted(known))}")
    return wanted


def _decode_body(raw: bytes) -> Any:
    """The JSON value posted; the SDK posts inputs as JSON text inside a JSON string, so unwrap that once."""
    if not raw.strip():
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise _host_error(400, "Only application/json request content is supported") from None
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _accepted(operation: Callable[[], None]) -> tuple[int, Any]:
    """202 once the operation is queued; 404 for an unknown instance, 410 for a finished one."""
    try:
        operation()
    except InstanceNotFoundError as exc:
        raise _host_error(404, str(exc)) from None
    except InstanceGoneError as exc:
        raise _host_error(410, str(exc)) from None
    return 202, None


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("management API: " + format, *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, verb: str) -> None:
        split = urlsplit(self.path)
        query = parse_qs(split.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers: dict[str, str] = {}
        try:
            if not split.path.startswith(BASE_PATH):
                raise _host_error(404, f"no such route: {split.path}")
            parts = [unquote(p) for p in split.path[len(BASE_PATH) :].split("/")]
            status, body = self._route(verb, parts, query, raw, headers)
        except ApiError as exc:
            status, body = exc.status, exc.body
        except (InvalidInstanceIdError, UnknownFunctionError, ValueError) as exc:
            status, body = 400, {"Message": str(exc), "ExceptionMessage": str(exc)}
        except Exception as exc:
            log.exception("management API request %s %s failed", verb, split.path)
            status, body = 500, {"Message": "internal error", "ExceptionMessage": f"{type(exc).__name__}: {exc}"}
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _route(  # noqa: PLR0911 - one return per route reads best
        self, verb: str, parts: list[str], query: dict[str, list[str]], raw: bytes, headers: dict[str, str]
    ) -> tuple[int, Any]:
        engine = self.server.engine
        match verb, parts:
            case "POST", ["orchestrators", name]:
                return self._start(name, None, raw)
            case "POST", ["orchestrators", name, instance_id]:
                return self._start(name, instance_id, raw)
            case "GET", ["instances", ""] | ["instances"]:
                return self._query(query, headers)
            case "GET", ["instances", instance_id]:
                return self._status(instance_id, query)
            case "POST", ["instances", instance_id, "raiseEvent", event_name]:
                return _accepted(lambda: engine.raise_event(instance_id, event_name, _decode_body(raw)))
            case "POST", ["instances", instance_id, "terminate"]:
                return _accepted(lambda: engine.terminate(instance_id, (query.get("reason") or [""])[0]))
            case "DELETE", ["instances", ""] | ["instances"]:
                created_from = _time(query, "createdTimeFrom")
                if created_from is None:
                    raise _host_error(400, "Please provide value for 'createdTimeFrom' parameter.")
                deleted = engine.purge_where(
                    runtime_status=_statuses(query),
                    created_from=created_from,
                    created_to=_time(query, "createdTimeTo"),
                )
                return (200 if deleted else 404), {"instancesDeleted": deleted}
            case "DELETE", ["instances", instance_id]:
                try:
                    deleted = 1 if engine.purge(instance_id) else 0
                except InstanceStillRunningError as exc:
                    raise _host_error(412, str(exc)) from None
                return (200 if deleted else 404), {"instancesDeleted": deleted}
        raise _host_error(404, f"no such route: {verb} {'/'.join(parts)}")

    def _start(self, name: str, instance_id: str | None, raw: bytes) -> tuple[int, Any]:
        engine = self.server.engine
        try:
            started = engine.start_new(name, instance_id=instance_id, input=_decode_body(raw))
        except InstanceAlreadyRunningError as exc:
            raise ApiError(409, {"Message": str(exc)}) from None
        return 202, self.server.links(started)

    def _status(self, instance_id: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        engine = self.server.engine
        status = engine.get_status(instance_id)
        if status is None:
            return 404, f"No instance with ID '{instance_id}' found."
        history = None
        if _flag(query, "showHistory"):
            history = _history_json(engine.get_history(instance_id), _flag(query, "showHistoryOutput"))
        body = status_json(status, history=history, show_input=_flag(query, "showInput", default=True))
        if status.runtime_status in _RUNNING:
            return 202, body
        failed = status.runtime_status == RuntimeStatus.FAILED
        return (500 if failed and _flag(query, "returnInternalServerErrorOnFailure") else 200), body

    def _query(self, query: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, Any]:
        top_values = query.get("top")
        try:
            top = int(top_values[0]) if top_values else None
        except ValueError:
            raise _host_error(400, f"top={top_values[0]!r} is not a whole number") from None  # type: ignore[index]
        after = self.headers.get(CONTINUATION_HEADER) or None
        page = self.server.engine.query_page(
            runtime_status=_statuses(query),
            prefix=next(iter(query.get("instanceIdPrefix") or []), None),
            created_from=_time(query, "createdTimeFrom"),
            created_to=_time(query, "createdTimeTo"),
            after_id=after,
            top=top + 1 if top else None,
        )
        if top and len(page) > top:
            page = page[:top]
            headers[CONTINUATION_HEADER] = page[-1].instance_id
        return 200, [status_json(s, show_input=_flag(query, "showInput", default=True)) for s in page]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, engine: Engine, port: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.engine = engine
        self.base_url = f"http://127.0.0.1:{self.server_address[1]}{BASE_PATH}"

    def links(self, instance_id: str) -> dict[str, str]:
        from devhost.engine.client import management_urls  # noqa: PLC0415 - avoids an import cycle

        urls = management_urls(self.base_url, self.engine.task_hub)
        return {key: value.replace("INSTANCEID", instance_id) for key, value in urls.items()}


class ManagementServer:
    """The management API on 127.0.0.1 (port 0 picks a free one), on its own thread."""

    def __init__(self, engine: Engine, port: int = 0) -> None:
        try:
            self._server = _Server(engine, port)
        except OSError as exc:
            raise EngineError(f"cannot serve the Durable management API on 127.0.0.1:{port}: {exc.strerror}") from None
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="durable-http-api", daemon=True
        )

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>/runtime/webhooks/durabletask/` (the client's `rpcBaseUrl`)."""
        return self._server.base_url

    def start(self) -> None:
        """Serve requests on a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()
