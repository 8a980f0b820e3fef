"""Running one activity as the Functions Python worker does.

Input and output go through azure.functions' own `ActivityTriggerConverter`: the activity receives the
decoded JSON value and its return value is JSON-serialised. A pydantic model (or anything else that is
not JSON-serialisable) returned by an activity is rejected with a clear error, as the worker rejects it;
return `model.model_dump(mode="json")` instead.
"""

from __future__ import annotations

import asyncio
import traceback
from dataclasses import dataclass

from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from devhost.engine.discovery import ActivityFunction


@dataclass(frozen=True)
class ActivityOutcome:
    """An activity's result JSON, or the failure that a person should see (reason + traceback)."""

    result_json: str | None = None
    reason: str | None = None
    details: str | None = None

    @property
    def failed(self) -> bool:
        """Whether the activity raised (or returned something unserialisable)."""
        return self.reason is not None


def _decode_input(input_json: str | None) -> object:
    if input_json is None:
        return None
    return ActivityTriggerConverter.decode(meta.Datum(type="json", value=input_json), trigger_metadata=None)


def _failure(activity: ActivityFunction, exc: BaseException) -> ActivityOutcome:
    return ActivityOutcome(
        reason=f"Activity function '{activity.name}' failed: {type(exc).__name__}: {exc}",
        details="".join(traceback.format_exception(exc)),
    )


def run_activity(activity: ActivityFunction, input_json: str | None) -> ActivityOutcome:
    """Call the activity with its decoded input; never raises."""
    try:
        argument = _decode_input(input_json)
        kwargs = {activity.input_parameter: argument}
        value = asyncio.run(activity.function(**kwargs)) if activity.is_async else activity.function(**kwargs)
    except Exception as exc:
        return _failure(activity, exc)
    if hasattr(value, "model_dump"):
        message = (
            f"activity {activity.name!r} returned a {type(value).__name__} (a pydantic model); activities must "
            "return JSON values: return value.model_dump(mode='json')"
        )
        return _failure(activity, TypeError(message))
    try:
        encoded = ActivityTriggerConverter.encode(value, expected_type=None)
    except ValueError as exc:
        return _failure(activity, exc)
    return ActivityOutcome(result_json=str(encoded.value))
