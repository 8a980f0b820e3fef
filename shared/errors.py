"""Every exception type the service raises on purpose, in one place.

Business outcomes (invalid data, a failed training job, a failed smoke test) are results, not
exceptions. What lives here are faults: transient ones that a declared retry policy retries, and
permanent ones that end an activity with a message a person can act on.
"""

from __future__ import annotations


class OrchestratorError(Exception):
    """Base class of every error this service raises on purpose."""


class ConfigurationError(OrchestratorError):
    """A setting is missing, malformed or contradicts another setting."""


class TransientError(OrchestratorError):
    """A fault that may pass on its own (throttling, 5xx, time-out); retried by policy."""


class PermanentError(OrchestratorError):
    """A fault that retrying cannot fix; the activity fails with this message."""


class BlobNotFoundError(PermanentError):
    """The named blob or container does not exist."""


class ETagConflictError(OrchestratorError):
    """A conditional write lost a race: the blob changed since it was read."""


class InvalidCommandError(PermanentError):
    """A command message or request body does not match the command contract."""


class InvalidOptionsError(PermanentError):
    """Run options (blob metadata or request body) have a bad value."""
