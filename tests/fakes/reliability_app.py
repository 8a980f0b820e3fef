"""The real Functions app with a fake fine-tuning backend kept on disk, for kill tests of `devhost up`.

`python -m devhost up --app tests.fakes.reliability_app:app` with `RELIABILITY_BACKEND_STATE=<file>`: storage
and events are the devhost's real Azurite and broker (from the settings `up` exports before importing the
app); the backend is `PersistentFakeBackend`, so what a killed devhost created is still there after restart;
the smoke test's endpoint answers like a model that learned `chat_dataset`.
"""

from __future__ import annotations

import os
from pathlib import Path

from function_app import app
from shared.bootstrap import Services, use_services
from shared.foundry.faults import with_faults
from shared.foundry.port import FineTuningBackend
from shared.foundry.traced import traced
from shared.servicebus import ServiceBusEventPublisher
from shared.settings import get_settings
from shared.storage import blob_store_from_settings
from tests.fakes.backend import EchoingChatClient
from tests.fakes.persistent_backend import STATE_ENV, PersistentFakeBackend
from tests.unit.pipeline.conftest import trained_reply

__all__ = ["app", "install_services"]


def install_services() -> None:
    """Use the devhost's Azurite and broker (from the settings), the on-disk fake backend and an echoing chat."""
    settings = get_settings()
    backend: FineTuningBackend = PersistentFakeBackend(Path(os.environ[STATE_ENV]))  # type: ignore[assignment]
    use_services(
        Services(
            settings=settings,
            store=blob_store_from_settings(settings),
            publisher=ServiceBusEventPublisher.from_settings(settings),
            backend=traced(with_faults(backend, settings)),
            chat=EchoingChatClient(responder=trained_reply),
        )
    )


# `devhost up --app` imports this module after exporting the settings: install there, not in a test's process.
if STATE_ENV in os.environ:
    install_services()
