"""A whole service on fakes: the real app and engine (virtual clock) over in-memory ports."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import orjson
import pytest

import function_app
from devhost.client_loop import run_on_client_loop
from devhost.engine import Clock, Engine, InstanceStatus, RealClock, VirtualClock
from devhost.functions_host import FunctionsHost
from shared.bootstrap import Services, use_services
from shared.commands import Command
from shared.events import CloudEvent
from shared.names import REPORTS_CONTAINER, STATE_CONTAINER, TRAINING_CONTAINER
from shared.settings import Settings
from tests.fakes.backend import EchoingChatClient, FakeBackend
from tests.fakes.durable_client import EngineClient
from tests.fakes.storage import InMemoryBlobStore
from triggers.control import StartResult, handle_command, start_run

SYSTEM = "You are Contoso's Xbox support assistant. Answer in one or two short sentences."


_QUESTION = re.compile(r"My (\w+) shows error code (\d+)")


def trained_reply(question: str) -> str:
    """What a model fine-tuned on `chat_dataset` answers."""
    match = _QUESTION.search(question)
    if match is None:
        return "I can help with Xbox consoles, games and accounts."
    topic, code = match.groups()
    return f"Restart the {topic}, then look up error {code} in Settings."


def chat_dataset(count: int = 30, *, topic: str = "console") -> bytes:
    """A valid chat JSONL file with `count` distinct examples."""
    lines = [
        {
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": f"My {topic} shows error code {1000 + n}. What should I do?"},
                {"role": "assistant", "content": trained_reply(f"My {topic} shows error code {1000 + n}.")},
            ]
        }
        for n in range(count)
    ]
    return b"\n".join(orjson.dumps(line) for line in lines) + b"\n"


class RecordingPublisher:
    """Keeps every published event, in order."""

    def __init__(self) -> None:
        self.events: list[CloudEvent] = []

    def publish(self, events: Sequence[CloudEvent]) -> None:
        self.events.extend(events)

    def for_run(self, run_id: str) -> list[CloudEvent]:
        return [event for event in self.events if event.subject == run_id]

    def types(self, run_id: str) -> list[str]:
        return [event.type for event in self.for_run(run_id)]


@dataclass
class World:
    """The service under test and its fakes."""

    engine: Engine
    store: InMemoryBlobStore
    publisher: RecordingPublisher
    backend: FakeBackend
    chat: EchoingChatClient
    settings: Settings
    services: Services
    clock: Clock
    client: EngineClient = field(init=False)

    def __post_init__(self) -> None:
        self.client = EngineClient(self.engine)

    def upload(self, name: str, data: bytes, metadata: dict[str, str] | None = None) -> str:
        return self.store.upload(TRAINING_CONTAINER, name, data, metadata=metadata)

    def start(self, name: str, **overrides: Any) -> StartResult:
        return run_on_client_loop(start_run(self.client, self.services, TRAINING_CONTAINER, name, overrides=overrides))

    def run(self, name: str, data: bytes | None = None, metadata: dict[str, str] | None = None) -> InstanceStatus:
        self.upload(name, data if data is not None else chat_dataset(), metadata)
        result = self.start(name)
        assert result.run_id is not None
        return self.engine.run_until_complete(result.run_id, timeout_s=120)

    def run_until_stage(self, run_id: str, stage: str, *, max_steps: int = 1000) -> None:
        """Drive the engine, moving the virtual clock ten minutes at a time, until the run is in `stage`."""
        for _ in range(max_steps):
            self.engine.run_until_idle(timeout_s=60, advance_clock=False)
            status = self.engine.get_status(run_id)
            assert status is not None
            if isinstance(status.custom_status, dict) and status.custom_status.get("stage") == stage:
                return
            assert not status.is_terminal, f"{run_id} ended before reaching {stage}: {status.output}"
            assert isinstance(self.clock, VirtualClock)
            self.clock.advance_to(self.clock.now() + timedelta(minutes=10))
        raise AssertionError(f"{run_id} never reached {stage}")

    def command(self, verb: str, run_id: str, reason: str | None = None) -> str:
        command = Command.model_validate({"command": verb, "runId": run_id, "reason": reason})
        return run_on_client_loop(handle_command(self.client, self.services, command))


@pytest.fixture
def engine_clock() -> Clock:
    """The engine's clock: virtual, so hours of polling pass in milliseconds."""
    return VirtualClock()


@pytest.fixture
def world_settings() -> Settings:
    """Settings of the service under test."""
    return Settings(poll_initial_seconds=60, poll_max_seconds=600, polls_per_generation=5, smoke_sample_size=3)


def make_world(engine_clock: Clock, settings: Settings) -> World:
    """The service on fakes, its engine on `engine_clock`; stop it with `close_world`."""
    store = InMemoryBlobStore()
    for container in (TRAINING_CONTAINER, REPORTS_CONTAINER, STATE_CONTAINER):
        store.ensure_container(container)
    publisher, backend, chat = RecordingPublisher(), FakeBackend(), EchoingChatClient(responder=trained_reply)
    services = Services(settings=settings, store=store, publisher=publisher, backend=backend, chat=chat)
    use_services(services)
    engine = Engine(function_app.app, clock=engine_clock, activity_workers=2)
    return World(engine, store, publisher, backend, chat, settings, services, engine_clock)


def close_world(world: World) -> None:
    """Stop the engine and forget the fakes."""
    world.engine.stop()
    use_services(None)


@pytest.fixture
def world(engine_clock: Clock, world_settings: Settings) -> Iterator[World]:
    built = make_world(engine_clock, world_settings)
    try:
        yield built
    finally:
        close_world(built)


@pytest.fixture
def live_world() -> Iterator[World]:
    """The service on fakes with its engine running on a real clock and polling fast, driven from outside
    (HTTP requests, blob triggers) as on `devhost up`: a run ends in a second or two of real time."""
    settings = Settings(poll_initial_seconds=0.05, poll_max_seconds=0.2, polls_per_generation=5, smoke_sample_size=3)
    built = make_world(RealClock(), settings)
    built.engine.start()
    try:
        yield built
    finally:
        close_world(built)


@pytest.fixture
def live_host(live_world: World) -> Iterator[FunctionsHost]:
    """The app's functions host in front of `live_world`'s engine."""
    host = FunctionsHost(function_app.app, client_binding=live_world.engine.client_binding)
    try:
        yield host
    finally:
        host.close()
