"""Discovery of what an app registers, from its own function bindings (never a second list)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from azure.functions import FunctionRegister

from devhost.engine.errors import EngineError, UnknownFunctionError

ORCHESTRATION_TRIGGER = "orchestrationTrigger"
ACTIVITY_TRIGGER = "activityTrigger"
DURABLE_CLIENT = "durableClient"


@dataclass(frozen=True)
class OrchestratorFunction:
    """An `orchestration_trigger` function: the SDK handle and the generator function behind it."""

    name: str
    handle: Callable[..., str]
    generator_function: Callable[..., Any]
    input_type: type | None


@dataclass(frozen=True)
class ActivityFunction:
    """An `activity_trigger` function and the parameter that receives the activity input."""

    name: str
    function: Callable[..., Any]
    input_parameter: str
    is_async: bool


@dataclass(frozen=True)
class AppFunction:
    """Any registered function (HTTP, blob, Service Bus, timer...) with its bindings as the host reads them."""

    name: str
    trigger_type: str
    trigger_parameter: str
    bindings: tuple[dict[str, Any], ...]
    function: Callable[..., Any]
    client_parameter: str | None

    @property
    def is_client_function(self) -> bool:
        """Whether it takes a `durable_client_input`."""
        return self.client_parameter is not None


@dataclass
class Registry:
    """Everything an app registers, indexed by function name."""

    orchestrators: dict[str, OrchestratorFunction] = field(default_factory=dict)
    activities: dict[str, ActivityFunction] = field(default_factory=dict)
    functions: dict[str, AppFunction] = field(default_factory=dict)

    def orchestrator(self, name: str) -> OrchestratorFunction:
        """The orchestrator of that name, or a clear error listing the known ones."""
        try:
            return self.orchestrators[name]
        except KeyError:
            known = ", ".join(sorted(self.orchestrators)) or "none"
            raise UnknownFunctionError(f"no orchestrator function named {name!r} (registered: {known})") from None

    def activity(self, name: str) -> ActivityFunction:
        """The activity of that name, or a clear error listing the known ones."""
        try:
            return self.activities[name]
        except KeyError:
            known = ", ".join(sorted(self.activities)) or "none"
            raise UnknownFunctionError(f"no activity function named {name!r} (registered: {known})") from None

    def function(self, name: str) -> AppFunction:
        """Any registered function of that name, or a clear error listing the known ones."""
        try:
            return self.functions[name]
        except KeyError:
            known = ", ".join(sorted(self.functions)) or "none"
            raise UnknownFunctionError(f"no function named {name!r} (registered: {known})") from None


def _binding_dict(binding: Any) -> dict[str, Any]:
    raw: dict[str, Any] = binding.get_dict_repr()
    return {key: (value.value if hasattr(value, "value") else value) for key, value in raw.items()}


def discover(app: FunctionRegister) -> Registry:
    """Index the app's functions by reading the bindings the Functions host would read."""
    app.functions_bindings = None  # get_functions() refuses a second call unless this is reset
    try:
        functions = app.get_functions()
    except Exception as exc:
        raise EngineError(
            f"the app's functions cannot be indexed, as the Functions host would refuse them: {exc}"
        ) from exc
    registry = Registry()
    for fn in functions:
        name = fn.get_function_name()
        trigger = fn.get_trigger()
        if trigger is None or name is None:
            continue
        user_function: Any = fn.get_user_function()
        bindings = tuple(_binding_dict(b) for b in fn.get_bindings())
        trigger_binding = next(b for b in bindings if b["name"] == trigger.name)
        alias = trigger_binding.get("orchestration") or trigger_binding.get("activity")
        names = {name} | ({alias} if isinstance(alias, str) and alias else set())
        client = next((b["name"] for b in bindings if b["type"] == DURABLE_CLIENT), None)
        trigger_type = str(trigger.type)
        registry.functions[name] = AppFunction(
            name=name,
            trigger_type=trigger_type,
            trigger_parameter=trigger.name,
            bindings=bindings,
            function=user_function,
            client_parameter=client,
        )
        if trigger_type == ORCHESTRATION_TRIGGER:
            orchestrator = OrchestratorFunction(
                name=name,
                handle=user_function,
                generator_function=user_function.orchestrator_function,
                input_type=getattr(user_function, "_df_input_type", None),
            )
            registry.orchestrators.update(dict.fromkeys(names, orchestrator))
        elif trigger_type == ACTIVITY_TRIGGER:
            activity = ActivityFunction(
                name=name,
                function=user_function,
                input_parameter=trigger.name,
                is_async=inspect.iscoroutinefunction(user_function),
            )
            registry.activities.update(dict.fromkeys(names, activity))
    return registry
