"""Builds the adapters the activities use, once per process and lazily (never at import time).

Tests replace them with `use_services(...)`, handing in fakes that implement the same ports.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from shared.foundry.factory import backend_from_settings
from shared.foundry.faults import with_faults
from shared.foundry.port import FineTuningBackend
from shared.foundry.traced import traced
from shared.servicebus import EventPublisher, ServiceBusEventPublisher
from shared.settings import Settings, get_settings
from shared.smoketest import ChatEndpointClient, smoke_client_from_settings
from shared.storage import BlobStore, blob_store_from_settings
from shared.telemetry import configure_telemetry


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


def build_services(settings: Settings) -> Services:
    """The real adapters for these settings."""
    return Services(
        settings=settings,
        store=blob_store_from_settings(settings),
        publisher=ServiceBusEventPublisher.from_settings(settings),
        backend=traced(with_faults(backend_from_settings(settings), settings)),
        chat=smoke_client_from_settings(settings),
    )


def services() -> Services:
    """The process-wide services, built on first use."""
    global _services  # noqa: PLW0603 - one lazily built set of clients per process
    with _lock:
        if _services is None:
            settings = get_settings()
            configure_telemetry(settings)
            _services = build_services(settings)
        return _services


def use_services(replacement: Services | None) -> None:
    """Replace the process-wide services (tests, the devhost); `None` builds them again on next use."""
    global _services  # noqa: PLW0603 - see services()
    with _lock:
        _services = replacement
