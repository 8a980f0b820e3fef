"""A `FineTuningBackend` wrapper that injects transient faults (429, 503, time-outs), for reliability tests.

Off unless `BACKEND_FAULTS` is above zero. Each distinct call (method and arguments) fails its first
`BACKEND_FAULTS` attempts with a `TransientError` worded as the real adapters word them, cycling through
`BACKEND_FAULT_KINDS`; then it reaches the backend. Activities retry transient errors with backoff, so a
run must still complete, as long as one activity's distinct calls times the faults stay under its attempts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, cast

from shared.errors import TransientError
from shared.foundry.port import FineTuningBackend
from shared.settings import BACKEND_FAULT_KINDS as FAULT_KINDS
from shared.settings import BackendFaultKind as FaultKind
from shared.settings import Settings

log = logging.getLogger(__name__)


_MESSAGES: dict[FaultKind, str] = {
    "429": "answered 429: Too Many Requests (injected fault)",
    "503": "answered 503: Service Unavailable (injected fault)",
    "timeout": "timed out (injected fault)",
}


class FaultInjectingBackend:
    """Delegates to a backend after failing each distinct call `faults_per_call` times."""

    def __init__(
        self,
        backend: FineTuningBackend,
        faults_per_call: int,
        kinds: Sequence[FaultKind] = FAULT_KINDS,
        timeout_seconds: float = 0.0,
    ) -> None:
        if faults_per_call < 0 or not kinds:
            raise ValueError("faults_per_call must be >= 0 and kinds not empty")
        self._backend = backend
        self._faults_per_call = faults_per_call
        self._kinds = tuple(kinds)
        self._timeout_seconds = timeout_seconds
        self._attempts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.injected: Counter[FaultKind] = Counter()

    def __getattr__(self, attribute: str) -> Any:
        target = getattr(self._backend, attribute)
        if attribute.startswith("_") or not callable(target):
            return target
        method = cast(Callable[..., Any], target)

        def faulty(*args: Any, **kwargs: Any) -> Any:
            self._maybe_fail(attribute, f"{attribute}{args!r}{sorted(kwargs.items())!r}")
            return method(*args, **kwargs)

        return faulty

    def _maybe_fail(self, method: str, key: str) -> None:
        with self._lock:
            attempt = self._attempts[key]
            self._attempts[key] += 1
            if attempt >= self._faults_per_call:
                return
            kind = self._kinds[(sum(self.injected.values())) % len(self._kinds)]
            self.injected[kind] += 1
        if kind == "timeout" and self._timeout_seconds > 0:
            time.sleep(self._timeout_seconds)
        log.info("injecting a %s fault into backend call %s (attempt %d)", kind, method, attempt + 1)
        raise TransientError(f"backend: {method} {_MESSAGES[kind]}")


def with_faults(backend: FineTuningBackend, settings: Settings) -> FineTuningBackend:
    """The backend itself, or wrapped in `FaultInjectingBackend` when `BACKEND_FAULTS` is above zero."""
    if settings.backend_faults == 0:
        return backend
    wrapper = FaultInjectingBackend(
        backend, settings.backend_faults, settings.backend_fault_kinds, settings.backend_fault_timeout_seconds
    )
    return cast(FineTuningBackend, wrapper)
