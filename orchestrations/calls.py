"""Typed, retried activity calls for orchestrators: pydantic in, pydantic out, one retry policy.

Every activity input travels in an `ActivityCall` envelope that also carries the run's trace context, so
each activity's span joins the run's one trace.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, TypeVar

import azure.durable_functions as df
from pydantic import BaseModel

from shared.models import ActivityCall

ResultT = TypeVar("ResultT", bound=BaseModel)

# Transient faults (throttling, 5xx, time-outs) are retried by the host; business outcomes are results.
ACTIVITY_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=5_000, max_number_of_attempts=4)

Task = Any  # azure.durable_functions' TaskBase; its package has no type information


def activity(
    context: df.DurableOrchestrationContext,
    name: str,
    payload: BaseModel,
    *,
    trace: dict[str, str] | None = None,
    run_id: str | None = None,
    stage: str | None = None,
) -> Task:
    """Schedule an activity with the standard retry policy (yield the task to await it)."""
    call = ActivityCall(payload=payload.model_dump(mode="json"), trace=trace or {}, run_id=run_id, stage=stage)
    return context.call_activity_with_retry(name, ACTIVITY_RETRY, call.model_dump(mode="json"))


def parse(result_type: type[ResultT], value: Any) -> ResultT:
    """Decode an activity result into its model."""
    return result_type.model_validate(value)


def call(
    context: df.DurableOrchestrationContext, name: str, payload: BaseModel, result_type: type[ResultT]
) -> Generator[Task, Any, ResultT]:
    """Call an activity and decode its result: `result = yield from call(...)`."""
    value = yield activity(context, name, payload)
    return parse(result_type, value)
