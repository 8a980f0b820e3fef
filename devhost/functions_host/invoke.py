"""Calling a function's user code the way the Python worker does.

Async functions run on the devhost's one long-lived event loop (`devhost.client_loop`), as in the worker:
the Durable SDK's client keeps a process-wide `aiohttp` session bound to the loop that created it, so a
fresh loop per call (`asyncio.run`) would break every call after the first. Sync functions run in the
calling thread.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from devhost.client_loop import run_on_client_loop
from devhost.functions_host.discovery import FunctionTrigger

ClientBindingFactory = Callable[[], str]
"""Returns the durable client binding JSON (task hub, management URLs pointing at the engine)."""


class NoDurableClientError(RuntimeError):
    """A function takes a durable client input but the host was started without an engine."""


class FunctionInvoker:
    """Invokes user functions with their trigger value and, when declared, the durable client binding.

    Async functions run on the devhost's one client loop (`devhost.client_loop`), as the worker runs
    them on its one loop: the Durable SDK's HTTP session is bound to it.
    """

    def __init__(self, client_binding: ClientBindingFactory | None = None) -> None:
        self._client_binding = client_binding

    def invoke(self, trigger: FunctionTrigger, trigger_value: Any, timeout_s: float | None = None) -> Any:
        """Call the function with its trigger value; returns what it returns, raises what it raises."""
        kwargs: dict[str, Any] = {trigger.trigger_arg: trigger_value}
        if trigger.durable_client_arg is not None:
            if self._client_binding is None:
                raise NoDurableClientError(
                    f"function {trigger.name} takes a durable client input but no durable engine is running"
                )
            kwargs[trigger.durable_client_arg] = self._client_binding()
        function = trigger.user_function
        if not inspect.iscoroutinefunction(function):
            return function(**kwargs)
        coroutine: Coroutine[Any, Any, Any] = function(**kwargs)
        return run_on_client_loop(coroutine, timeout_s)

    def close(self) -> None:
        """Nothing to release: the client loop lives as long as the process."""
