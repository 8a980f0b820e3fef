"""`FunctionsHost`: the app's non-durable functions, discovered once, invoked with real bindings."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from azure.servicebus import ServiceBusReceivedMessage

from devhost.functions_host.blob_binding import StreamedBlobInputStream
from devhost.functions_host.discovery import (
    BlobBinding,
    FunctionTrigger,
    HttpBinding,
    ServiceBusBinding,
    discover_triggers,
)
from devhost.functions_host.http_binding import HttpReply, build_request, reply_from_result
from devhost.functions_host.invoke import ClientBindingFactory, FunctionInvoker
from devhost.functions_host.routes import RouteTable
from devhost.functions_host.servicebus_binding import build_servicebus_message
from devhost.functions_host.timers import Clock, TimerScheduler, utc_now
from shared.storage import BlobInfo, BlobStore

log = logging.getLogger(__name__)

API_PREFIX = "/api"


def json_reply(
    status_code: int, payload: Mapping[str, Any], extra_headers: list[tuple[str, str]] | None = None
) -> HttpReply:
    """A JSON reply produced by the host itself (not by a function)."""
    headers = [("Content-Type", "application/json; charset=utf-8"), *(extra_headers or [])]
    return HttpReply(status_code=status_code, headers=headers, body=json.dumps(payload).encode())


class FunctionsHost:
    """Plays the Functions host for one app object: routing, bindings and invocation."""

    def __init__(
        self,
        app: Any,
        client_binding: ClientBindingFactory | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.triggers = discover_triggers(app, environ)
        self.invoker = FunctionInvoker(client_binding)
        self._routes: RouteTable[FunctionTrigger] = RouteTable(
            (self._http(t).route, self._http(t).methods, t) for t in self.triggers if t.kind == "http"
        )

    @staticmethod
    def _http(trigger: FunctionTrigger) -> HttpBinding:
        assert isinstance(trigger.binding, HttpBinding)
        return trigger.binding

    def of_kind(self, kind: str) -> list[FunctionTrigger]:
        """The functions with this trigger kind (`http`, `blob`, `servicebus`, `timer`)."""
        return [t for t in self.triggers if t.kind == kind]

    def function(self, name: str) -> FunctionTrigger:
        """The function of that name; KeyError naming the known ones otherwise."""
        for trigger in self.triggers:
            if trigger.name == name:
                return trigger
        raise KeyError(f"no function {name!r}; the app has {', '.join(t.name for t in self.triggers) or 'none'}")

    def blob_triggers(self, container: str, blob_name: str | None = None) -> list[FunctionTrigger]:
        """The blob-triggered functions watching a container (and whose path pattern fits `blob_name`)."""
        return [
            t
            for t in self.of_kind("blob")
            if isinstance(t.binding, BlobBinding)
            and t.binding.container == container
            and (blob_name is None or t.binding.matches(blob_name))
        ]

    def blob_containers(self) -> list[str]:
        """Every container some blob trigger watches, in registration order."""
        found: list[str] = []
        for trigger in self.of_kind("blob"):
            assert isinstance(trigger.binding, BlobBinding)
            if trigger.binding.container not in found:
                found.append(trigger.binding.container)
        return found

    def on_blob(self, store: BlobStore, info: BlobInfo) -> None:
        """Invoke every blob trigger that this blob fits (what Event Grid's `BlobCreated` leads to)."""
        for trigger in self.blob_triggers(info.container, info.name):
            self.invoke_blob(trigger, store, info)

    def servicebus_triggers(self, entity: str) -> list[FunctionTrigger]:
        """The Service Bus functions on a queue name, or a `topic/subscription` pair."""
        found = []
        for trigger in self.of_kind("servicebus"):
            binding = trigger.binding
            assert isinstance(binding, ServiceBusBinding)
            names = {binding.queue_name, f"{binding.topic_name}/{binding.subscription_name}"}
            if entity in names:
                found.append(trigger)
        return found

    def handle_http(
        self, method: str, url: str, *, path: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> HttpReply:
        """Route one request below `/api/` to its function and map the outcome to a reply.

        Unknown routes get 404, a known route under another method 405 (with `Allow`), and a function that
        raises 500 with an invocation id only: the traceback goes to the log, never to the client.
        """
        if path != API_PREFIX and not path.startswith(API_PREFIX + "/"):
            return json_reply(404, {"error": f"no function serves {path}: functions live under {API_PREFIX}/"})
        route_path = path[len(API_PREFIX) :]
        match = self._routes.match(method, route_path)
        if match.method_not_allowed:
            allowed = ", ".join(match.allowed_methods)
            return json_reply(
                405, {"error": f"{method} is not allowed on {path}; allowed: {allowed}"}, [("Allow", allowed)]
            )
        if match.target is None:
            return json_reply(404, {"error": f"no function serves {path}"})
        trigger = match.target
        request = build_request(method, url, headers=headers, query=query, route_params=match.route_params, body=body)
        invocation_id = str(uuid.uuid4())
        try:
            return reply_from_result(self._invoke(trigger, request, f"{method} {path}"))
        except Exception:
            log.exception("function %s failed (invocation %s)", trigger.name, invocation_id)
            return json_reply(500, {"error": f"function {trigger.name} failed", "invocationId": invocation_id})

    def invoke_blob(self, trigger: FunctionTrigger, store: BlobStore, info: BlobInfo) -> Any:
        """Invoke a blob trigger for one blob; its content streams from the store as the function reads."""
        return self._invoke(trigger, StreamedBlobInputStream(store, info), f"blob {info.container}/{info.name}")

    def invoke_servicebus(self, trigger: FunctionTrigger, message: ServiceBusReceivedMessage) -> Any:
        """Invoke a Service Bus trigger for one received message; raising means the message is not settled."""
        return self._invoke(trigger, build_servicebus_message(message), f"message {message.message_id}")

    def _invoke(self, trigger: FunctionTrigger, value: Any, reason: str) -> Any:
        started = time.monotonic()
        log.info("executing %s (%s)", trigger.name, reason)
        try:
            result = self.invoker.invoke(trigger, value)
        except Exception:
            log.info("executed %s: failed after %.0f ms", trigger.name, (time.monotonic() - started) * 1000)
            raise
        log.info("executed %s: succeeded in %.0f ms", trigger.name, (time.monotonic() - started) * 1000)
        return result

    def timer_scheduler(self, status_path: Path | None = None, clock: Clock = utc_now) -> TimerScheduler:
        """A scheduler of this app's timer functions (not started)."""
        return TimerScheduler(self.triggers, self.invoker, status_path, clock)

    def close(self) -> None:
        """Stop the invoker's event loop."""
        self.invoker.close()
