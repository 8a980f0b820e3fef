"""Errors the durable engine raises on purpose, each with a message a person can act on."""

from __future__ import annotations


class EngineError(Exception):
    """Base class of every error the durable engine raises on purpose."""


class UnknownFunctionError(EngineError):
    """No orchestrator, activity or function of that name is registered on the app."""


class InvalidInstanceIdError(EngineError):
    """An instance id is empty, too long or contains a character the host refuses."""


class InstanceAlreadyRunningError(EngineError):
    """An instance with that id is pending or running, so it cannot be started again."""


class InstanceStillRunningError(EngineError):
    """Only finished (completed, failed, terminated) instances can be purged."""


class InstanceNotFoundError(EngineError):
    """No instance with that id exists."""


class InstanceGoneError(EngineError):
    """The instance has already completed, failed or been terminated."""


class EngineTimeoutError(EngineError):
    """Waiting for the engine took longer than the caller allowed."""


class EngineStuckError(EngineError):
    """The awaited instance cannot progress: nothing is left to run and no timer is due."""
