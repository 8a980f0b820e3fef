"""A `FineTuningBackend` wrapper that puts every backend call in a span of the current trace."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from opentelemetry.trace import SpanKind

from shared.foundry.port import FineTuningBackend
from shared.telemetry import span

# Arguments worth recording: names and ids only (never keys, data or whole requests).
_NAME_ARGUMENTS = {"name", "job_name", "family", "version"}


class TracedBackend:
    """Delegates to a backend; each public method call becomes a client span `foundry <method>`."""

    def __init__(self, backend: FineTuningBackend) -> None:
        self._backend = backend

    def __getattr__(self, attribute: str) -> Any:
        target = getattr(self._backend, attribute)
        if attribute.startswith("_") or not callable(target):
            return target
        method = cast(Callable[..., Any], target)

        def traced(*args: Any, **kwargs: Any) -> Any:
            names = {key: value for key, value in kwargs.items() if key in _NAME_ARGUMENTS}
            if args and isinstance(args[0], str):
                names["target"] = args[0]
            with span(f"foundry {attribute}", {"foundry.method": attribute, **names}, kind=SpanKind.CLIENT):
                return method(*args, **kwargs)

        return traced


def traced(backend: FineTuningBackend) -> FineTuningBackend:
    """The backend with every call traced."""
    return cast(FineTuningBackend, TracedBackend(backend))
