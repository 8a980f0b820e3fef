"""A stand-in for the SDK's `DurableOrchestrationClient`, backed directly by a devhost `Engine`.

For unit tests of the triggers' logic; e2e tests use the real SDK client over the engine's HTTP API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from devhost.engine import Engine


class _Status(Enum):
    Pending = "Pending"
    Running = "Running"
    Completed = "Completed"
    ContinuedAsNew = "ContinuedAsNew"
    Failed = "Failed"
    Terminated = "Terminated"


@dataclass
class ClientStatus:
    """The fields of `DurableOrchestrationStatus` the triggers read."""

    instance_id: str | None = None
    name: str | None = None
    runtime_status: _Status | None = None
    custom_status: Any = None
    output: Any = None
    input_: Any = None
    created_time: datetime | None = None
    last_updated_time: datetime | None = None


class EngineClient:
    """Implements the client methods the triggers call, on an in-process engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def get_status(
        self, instance_id: str, show_history: bool = False, show_history_output: bool = False, show_input: bool = False
    ) -> ClientStatus:
        status = self.engine.get_status(instance_id)
        if status is None:
            return ClientStatus()
        return ClientStatus(
            instance_id=status.instance_id,
            name=status.name,
            runtime_status=_Status(status.runtime_status.value),
            custom_status=status.custom_status,
            output=status.output,
            input_=status.input if show_input else None,
            created_time=status.created_at,
            last_updated_time=status.last_updated_at,
        )

    async def get_status_all(self) -> list[ClientStatus]:
        return [await self.get_status(status.instance_id) for status in self.engine.query()]

    async def start_new(
        self, orchestration_function_name: str, instance_id: str | None = None, client_input: Any = None
    ) -> str:
        return self.engine.start_new(orchestration_function_name, instance_id, client_input)

    async def raise_event(self, instance_id: str, event_name: str, event_data: Any = None) -> None:
        self.engine.raise_event(instance_id, event_name, event_data)
