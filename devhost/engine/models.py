"""What the engine reports about instances: statuses and failures."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class RuntimeStatus(StrEnum):
    """The runtime status of an orchestration instance, spelled as the Durable HTTP API spells it."""

    PENDING = "Pending"
    RUNNING = "Running"
    COMPLETED = "Completed"
    CONTINUED_AS_NEW = "ContinuedAsNew"
    FAILED = "Failed"
    TERMINATED = "Terminated"

    @property
    def is_terminal(self) -> bool:
        """Whether the instance will never run again (unless started anew)."""
        return self in _TERMINAL


_TERMINAL = frozenset({RuntimeStatus.COMPLETED, RuntimeStatus.FAILED, RuntimeStatus.TERMINATED})

FailureKind = Literal["orchestrator", "nondeterminism", "unsupported", "engine"]


class FailureDetails(BaseModel):
    """Why an instance failed, for a person: the exception's type, message and traceback."""

    model_config = ConfigDict(frozen=True)

    kind: FailureKind
    error_type: str
    message: str
    stack_trace: str | None = None


class InstanceStatus(BaseModel):
    """The state of one orchestration instance (input, output and custom status as JSON values)."""

    model_config = ConfigDict(frozen=True)

    instance_id: str
    name: str
    runtime_status: RuntimeStatus
    input: Any = None
    output: Any = None
    custom_status: Any = None
    created_at: datetime
    last_updated_at: datetime
    failure: FailureDetails | None = None
    parent_instance_id: str | None = None
    generation: int = 0

    @property
    def is_terminal(self) -> bool:
        """Whether the instance completed, failed or was terminated."""
        return self.runtime_status.is_terminal
