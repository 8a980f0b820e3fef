"""A loop on a daemon thread of its own that stops when asked: what the devhost's pollers and listeners share."""

from __future__ import annotations

import threading
from collections.abc import Callable


class BackgroundLoop:
    """Runs `run` on a named daemon thread; `run` returns once `stopping` is set. It can start again after a stop."""

    def __init__(self, run: Callable[[], None], name: str) -> None:
        self._run = run
        self.name = name
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the thread was started and not stopped since."""
        return self._thread is not None

    def start(self) -> None:
        """Start the thread; starting a running loop raises `RuntimeError`."""
        if self._thread is not None:
            raise RuntimeError(f"{self.name} is already running")
        self.stopping.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Ask the loop to stop and wait up to `timeout_s` for its thread to end; safe to call twice."""
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
