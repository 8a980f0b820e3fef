"""The one event loop on which the devhost runs the app's async functions and durable client calls.

The Durable SDK keeps a single aiohttp session per process, bound to the loop that first used it (as the
Functions worker has one loop per process). Every invoker in the devhost therefore runs coroutines on
this one long-lived loop; it lives on a daemon thread for the life of the process and is never closed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def client_loop() -> asyncio.AbstractEventLoop:
    """The process-wide loop, started on first use."""
    global _loop  # noqa: PLW0603 - one loop per process, like the Functions worker
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="devhost-client-loop", daemon=True).start()
            _loop = loop
        return _loop


def run_on_client_loop(coroutine: Coroutine[Any, Any, T], timeout_s: float | None = None) -> T:
    """Run a coroutine on the process-wide loop from any other thread and wait for its result."""
    return asyncio.run_coroutine_threadsafe(coroutine, client_loop()).result(timeout_s)
