"""Calling a function's user code the way the Python worker does.

Async functions run on one long-lived event loop in its own thread, as in the worker: the Durable SDK's
client keeps a process-wide `aiohttp` session bound to the loop that created it, so a fresh loop per call
(`asyncio.run`) would break every call after the first. Sync functions run in the calling thread.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from devhost.functions_host.discovery import FunctionTrigger

ClientBindingFactory = Callable[[], str]
"""Returns the durable client binding JSON (task hub, management URLs pointing at the engine)."""


class NoDurableClientError(RuntimeError):
    """A function takes a durable client input but the host was started without an engine."""


class FunctionInvoker:
    """Invokes user functions with their trigger value and, when declared, the durable client binding."""

    def __init__(self, client_binding: ClientBindingFactory | None = None) -> None:
        self._client_binding = client_binding
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="functions-host-loop", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

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
        future = asyncio.run_coroutine_threadsafe(coroutine, self._event_loop())
        return future.result(timeout_s)

    def close(self) -> None:
        """Stop the event loop thread (pending calls are cancelled)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return

        async def _shutdown() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(_shutdown(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
