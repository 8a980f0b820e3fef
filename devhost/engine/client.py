"""Durable client bindings for a running engine, and invoking the app's functions with them.

A function decorated with `@app.durable_client_input(client_name=...)` receives, from the host, a JSON
string describing the Durable HTTP API; the SDK's middleware turns it into a `DurableOrchestrationClient`.
`client_binding_json` builds that string for an engine's management API, and `FunctionInvoker` calls any
registered function (HTTP, blob, Service Bus, timer triggers...) with it and the other arguments given.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from devhost.client_loop import run_on_client_loop
from devhost.engine.errors import EngineError

if TYPE_CHECKING:
    from devhost.engine.engine import Engine

INSTANCE_PLACEHOLDER = "INSTANCEID"
T = TypeVar("T")


def management_urls(base_url: str, task_hub: str) -> dict[str, str]:
    """The host's per-instance management links, with `INSTANCEID` where the instance id goes."""
    instance = f"{base_url}instances/{INSTANCE_PLACEHOLDER}"
    query = f"taskHub={task_hub}&connection=Storage"
    return {
        "id": INSTANCE_PLACEHOLDER,
        "statusQueryGetUri": f"{instance}?{query}",
        "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{query}",
        "terminatePostUri": f"{instance}/terminate?reason={{text}}&{query}",
        "rewindPostUri": f"{instance}/rewind?reason={{text}}&{query}",
        "purgeHistoryDeleteUri": f"{instance}?{query}",
        "restartPostUri": f"{instance}/restart?{query}",
        "suspendPostUri": f"{instance}/suspend?reason={{text}}&{query}",
        "resumePostUri": f"{instance}/resume?reason={{text}}&{query}",
    }


def client_binding_json(engine: Engine) -> str:
    """The `durableClient` binding value the host would pass, pointing at the engine's management API."""
    base_url = engine.management_url
    if base_url is None:
        raise EngineError("the engine's management API is not running: call engine.start() first")
    return json.dumps(
        {
            "taskHubName": engine.task_hub,
            "creationUrls": {
                "createNewInstancePostUri": f"{base_url}orchestrators/{{functionName}}[/{{instanceId}}]",
                "createAndWaitOnNewInstancePostUri": (
                    f"{base_url}orchestrators/{{functionName}}[/{{instanceId}}]?timeout={{timeoutInSeconds}}"
                ),
            },
            "managementUrls": management_urls(base_url, engine.task_hub),
            "baseUrl": base_url,
            "requiredQueryStringParameters": "",
            "rpcBaseUrl": base_url,
            "httpBaseUrl": "",
        }
    )


class FunctionInvoker:
    """Calls the app's functions; coroutines run on the devhost's one client loop.

    The SDK's client keeps one aiohttp session per process, bound to the loop that created it, so every
    client call in the process must run on the same loop (`devhost.client_loop`), as in the worker.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def invoke(self, function_name: str, /, timeout_s: float = 60.0, **arguments: Any) -> Any:
        """Call `function_name` with `arguments`; a durable client parameter is filled in for you."""
        function = self._engine.registry.function(function_name)
        if function.client_parameter is not None:
            arguments[function.client_parameter] = client_binding_json(self._engine)
        result = function.function(**arguments)
        if inspect.isawaitable(result):
            return run_on_client_loop(_awaited(result), timeout_s)
        return result

    def with_client(self, call: Callable[[Any], Awaitable[T]], timeout_s: float = 60.0) -> T:
        """Run `call(client)` with a `DurableOrchestrationClient` bound to the engine, on the client loop."""
        from azure.durable_functions import DurableOrchestrationClient  # noqa: PLC0415 - heavy import, used rarely

        async def run() -> T:
            return await call(DurableOrchestrationClient(client_binding_json(self._engine)))

        return run_on_client_loop(run(), timeout_s)


async def _awaited(awaitable: Any) -> Any:
    return await awaitable
