"""Builds the adapters the activities use, once per process and lazily (never at import time).

Tests replace them with `use_services(...)`, handing in fakes that implement the same ports.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.foundry.port import FineTuningBackend
from shared.servicebus import EventPublisher
from shared.settings import Settings, get_settings
from shared.smoketest import ChatEndpointClient, smoke_client_from_settings
from shared.storage import BlobStore, blob_store_from_settings


@dataclass
class Services:
    """Everything an activity may talk to."""

    settings: Settings
    store: BlobStore
    publisher: EventPublisher
    backend: FineTuningBackend
    chat: ChatEndpointClient


_lock = threading.Lock()
_services: Services | None = None


def _factory(module: str, name: str) -> Callable[[Settings], Any]:
    factory: Callable[[Settings], Any] = getattr(importlib.import_module(module), name)
    return factory


def build_services(settings: Settings) -> Services:
    """The real adapters for these settings (backend modules are imported only when chosen)."""
    return Services(
        settings=settings,
        store=blob_store_from_settings(settings),
        publisher=_factory("shared.servicebus_publisher", "publisher_from_settings")(settings),
        backend=_factory("shared.foundry.factory", "backend_from_settings")(settings),
        chat=smoke_client_from_settings(settings),
    )


def services() -> Services:
    """The process-wide services, built on first use."""
    global _services  # noqa: PLW0603 - one lazily built set of clients per process
    with _lock:
        if _services is None:
            _services = build_services(get_settings())
        return _services


def use_services(replacement: Services | None) -> None:
    """Replace the process-wide services (tests, the devhost); `None` builds them again on next use."""
    global _services  # noqa: PLW0603 - see services()
    with _lock:
        _services = replacement
