"""The devhost durable engine: an app's orchestrations and activities run through the real Durable SDK."""

from __future__ import annotations

from devhost.engine.clock import Clock, RealClock, VirtualClock
from devhost.engine.engine import Engine, EngineStats
from devhost.engine.errors import (
    EngineError,
    EngineStuckError,
    EngineTimeoutError,
    InstanceAlreadyRunningError,
    InstanceGoneError,
    InstanceNotFoundError,
    InstanceStillRunningError,
    InvalidInstanceIdError,
    UnknownFunctionError,
)
from devhost.engine.models import FailureDetails, InstanceStatus, RuntimeStatus

__all__ = [
    "Clock",
    "Engine",
    "EngineError",
    "EngineStats",
    "EngineStuckError",
    "EngineTimeoutError",
    "FailureDetails",
    "InstanceAlreadyRunningError",
    "InstanceGoneError",
    "InstanceNotFoundError",
    "InstanceStatus",
    "InstanceStillRunningError",
    "InvalidInstanceIdError",
    "RealClock",
    "RuntimeStatus",
    "UnknownFunctionError",
    "VirtualClock",
]
