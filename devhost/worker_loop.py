"""The one event loop of the process on which the app's async functions run, as in the Python worker.

The Durable SDK's client keeps a process-wide `aiohttp` session bound to the loop that created it: two
loops in one process calling durable clients break each other. Everything in the devhost that awaits
app code or a `DurableOrchestrationClient` should run it here.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def worker_loop() -> asyncio.AbstractEventLoop:
    """The shared loop, started on a daemon thread on first use."""
    global _loop  # noqa: PLW0603 (one loop per process is the point)
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="functions-worker-loop", daemon=True).start()
            _loop = loop
        return _loop


def run_on_worker_loop(coroutine: Coroutine[Any, Any, T], timeout_s: float | None = None) -> T:
    """Run a coroutine on the shared loop from any other thread and return its result (or raise its error)."""
    return asyncio.run_coroutine_threadsafe(coroutine, worker_loop()).result(timeout_s)
