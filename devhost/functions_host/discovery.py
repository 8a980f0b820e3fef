"""Discovery of the app's non-durable triggers from its bindings.

The app object is the single source of truth: every trigger the devhost serves is read from the bindings
that `function_app.py` registers (`app.get_functions()`), never from a second hand-kept list.
Orchestration, activity and entity triggers belong to the durable engine and are not returned here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import ConfigurationError

TriggerKind = Literal["http", "blob", "servicebus", "timer"]

_TRIGGER_KINDS: dict[str, TriggerKind] = {
    "httpTrigger": "http",
    "blobTrigger": "blob",
    "serviceBusTrigger": "servicebus",
    "timerTrigger": "timer",
}
DURABLE_TRIGGER_TYPES = frozenset({"orchestrationTrigger", "activityTrigger", "entityTrigger"})
DURABLE_CLIENT_TYPE = "durableClient"
ALL_HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_SETTING_REFERENCE = re.compile(r"%([A-Za-z0-9_.:-]+)%")


class HttpBinding(BaseModel):
    """An HTTP trigger: the route template below `/api/` and the methods it answers."""

    model_config = ConfigDict(frozen=True)

    route: str = Field(description="Route template, e.g. `runs/{runId}`; the function name when unset.")
    methods: tuple[str, ...] = Field(description="Upper-case HTTP methods; every method when unset.")
    auth_level: str | None = Field(None, description="Authorisation level in Azure (the devhost is loopback-only).")


class BlobBinding(BaseModel):
    """A blob trigger: `path` is `<container>/<pattern>`."""

    model_config = ConfigDict(frozen=True)

    path: str
    connection: str | None = None
    source: str | None = Field(None, description="`EventGrid` or `LogsAndContainerScan` (polling).")

    @property
    def container(self) -> str:
        """The container the trigger watches."""
        return self.path.split("/", 1)[0]

    def matches(self, blob_name: str) -> bool:
        """Whether a blob of the container fits the path pattern (`{name}` parts match any text)."""
        pattern = self.path.split("/", 1)[1]
        regex = "".join(
            ".+" if part.startswith("{") else re.escape(part) for part in re.split(r"(\{[^}]*\})", pattern) if part
        )
        return re.fullmatch(regex, blob_name, flags=re.DOTALL) is not None


class ServiceBusBinding(BaseModel):
    """A Service Bus trigger on a queue, or on a topic subscription; `%SETTING%` names already resolved."""

    model_config = ConfigDict(frozen=True)

    queue_name: str | None = None
    topic_name: str | None = None
    subscription_name: str | None = None
    connection: str | None = None
    is_sessions_enabled: bool = False
    cardinality: str | None = None


class TimerBinding(BaseModel):
    """A timer trigger: a six-field NCRONTAB schedule (`%SETTING%` resolved)."""

    model_config = ConfigDict(frozen=True)

    schedule: str
    run_on_startup: bool = False
    use_monitor: bool | None = None


class FunctionTrigger(BaseModel):
    """One non-durable function of the app: how it is triggered and how to call it."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str = Field(description="The function name (what the Functions host shows).")
    kind: TriggerKind
    trigger_arg: str = Field(description="Parameter name the trigger value is passed as.")
    durable_client_arg: str | None = Field(None, description="Parameter name of a durable client input, if any.")
    binding: HttpBinding | BlobBinding | ServiceBusBinding | TimerBinding
    user_function: Callable[..., Any] = Field(description="What the worker would call (async for client inputs).")


def resolve_setting_references(value: str, environ: Mapping[str, str] | None = None) -> str:
    """Replace each `%NAME%` by the app setting `NAME`, as the Functions host does for binding expressions."""
    env = os.environ if environ is None else environ

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise ConfigurationError(f"binding expression %{name}% refers to app setting {name}, which is not set")
        return env[name]

    return _SETTING_REFERENCE.sub(lookup, value)


def _methods(raw: Any) -> tuple[str, ...]:
    if not raw:
        return ALL_HTTP_METHODS
    return tuple(str(getattr(m, "value", m)).upper() for m in raw)


def _text(raw: Any) -> str | None:
    if raw is None:
        return None
    return str(getattr(raw, "value", raw))


def _binding_for(
    kind: TriggerKind, function_name: str, raw: Mapping[str, Any], environ: Mapping[str, str] | None
) -> HttpBinding | BlobBinding | ServiceBusBinding | TimerBinding:
    def resolved(key: str) -> str | None:
        value = _text(raw.get(key))
        return None if value is None else resolve_setting_references(value, environ)

    if kind == "http":
        route = _text(raw.get("route")) or function_name
        return HttpBinding(
            route=route.strip("/"), methods=_methods(raw.get("methods")), auth_level=_text(raw.get("authLevel"))
        )
    if kind == "blob":
        path = resolved("path")
        if not path or "/" not in path:
            raise ConfigurationError(
                f"function {function_name}: blob trigger path {path!r} is not <container>/<pattern>"
            )
        return BlobBinding(path=path, connection=_text(raw.get("connection")), source=_text(raw.get("source")))
    if kind == "servicebus":
        binding = ServiceBusBinding(
            queue_name=resolved("queueName"),
            topic_name=resolved("topicName"),
            subscription_name=resolved("subscriptionName"),
            connection=_text(raw.get("connection")),
            is_sessions_enabled=bool(raw.get("isSessionsEnabled") or False),
            cardinality=_text(raw.get("cardinality")),
        )
        if not binding.queue_name and not (binding.topic_name and binding.subscription_name):
            raise ConfigurationError(
                f"function {function_name}: a Service Bus trigger needs a queue name or a topic and subscription"
            )
        return binding
    schedule = resolved("schedule")
    if not schedule:
        raise ConfigurationError(f"function {function_name}: timer trigger without a schedule")
    return TimerBinding(
        schedule=schedule, run_on_startup=bool(raw.get("runOnStartup") or False), use_monitor=raw.get("useMonitor")
    )


def discover_triggers(app: Any, environ: Mapping[str, str] | None = None) -> list[FunctionTrigger]:
    """The app's http, blob, Service Bus and timer functions, in registration order.

    `environ` resolves `%SETTING%` references (default: the process environment). A function with a trigger
    type the devhost cannot serve raises `ConfigurationError` naming it, rather than being silently ignored.
    """
    # get_functions() builds its list once and fails if asked again; resetting makes discovery repeatable.
    app.functions_bindings = None
    triggers: list[FunctionTrigger] = []
    for function in app.get_functions():
        name = str(function.get_function_name())
        raw_bindings: list[dict[str, Any]] = [b.get_dict_repr() for b in function.get_bindings()]
        trigger = next((b for b in raw_bindings if str(b.get("type", "")).endswith("Trigger")), None)
        if trigger is None:
            raise ConfigurationError(f"function {name} has no trigger binding")
        trigger_type = str(trigger["type"])
        if trigger_type in DURABLE_TRIGGER_TYPES:
            continue
        kind = _TRIGGER_KINDS.get(trigger_type)
        if kind is None:
            raise ConfigurationError(f"function {name}: the devhost cannot serve trigger type {trigger_type!r}")
        client = next((b for b in raw_bindings if b.get("type") == DURABLE_CLIENT_TYPE), None)
        triggers.append(
            FunctionTrigger(
                name=name,
                kind=kind,
                trigger_arg=str(trigger["name"]),
                durable_client_arg=None if client is None else str(client["name"]),
                binding=_binding_for(kind, name, trigger, environ),
                user_function=function.get_user_function(),
            )
        )
    return triggers
