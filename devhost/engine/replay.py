"""One orchestrator turn: replay the history through the real SDK and read back what it decided.

`Orchestrator.create(fn).handle` builds a `DurableOrchestrationContext` from the context JSON and runs
`Orchestrator(fn).handle(ctx)`. We do exactly those steps ourselves so that, after the call, we can read
the context's open tasks: their sequence ids are the SDK's own, which keeps retries and compound tasks
in step with the host's numbering.
"""

from __future__ import annotations

import json
import time
import traceback
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from azure.durable_functions.models.DurableOrchestrationContext import DurableOrchestrationContext
from azure.durable_functions.orchestrator import Orchestrator

from devhost.engine.actions import (
    ActionSignature,
    UnsupportedActionError,
    Work,
    cancelled_timers,
    flatten,
    new_work,
)
from devhost.engine.discovery import OrchestratorFunction
from devhost.engine.history import Event
from devhost.engine.models import FailureDetails

OUT_OF_PROC_LABEL = "$OutOfProcData$:"

# The SDK warns when an event arrives before the orchestrator waits for it; buffering it is expected.
warnings.filterwarnings("ignore", message="Potential duplicate Task completion", category=UserWarning)


@dataclass
class TurnResult:
    """What one turn decided."""

    actions: list[ActionSignature]
    work: list[Work] = field(default_factory=list)
    cancelled_timer_ids: set[int] = field(default_factory=set)
    completed: bool = False
    output_json: str | None = None
    continue_as_new: bool = False
    continue_as_new_input: str | None = None
    custom_status_json: str | None = None
    failure: FailureDetails | None = None
    events_processed: int = 0
    sdk_seconds: float = 0.0


def _failure_from(exc: BaseException) -> FailureDetails:
    """The orchestrator's own exception, unwrapped from the SDK's `$OutOfProcData$` wrapper."""
    original = exc.__cause__ if exc.__cause__ is not None and OUT_OF_PROC_LABEL in str(exc) else exc
    message = str(original) or type(original).__name__
    stack = "".join(traceback.format_exception(original))
    return FailureDetails(kind="orchestrator", error_type=type(original).__name__, message=message, stack_trace=stack)


def run_turn(
    orchestrator: OrchestratorFunction,
    *,
    instance_id: str,
    parent_instance_id: str | None,
    input_json: str | None,
    history: list[Event],
    scheduled_ids: set[int],
    now: datetime,
) -> TurnResult:
    """Replay `history` (old events played, new ones not) and return the orchestrator's decisions."""
    context_json = json.dumps(
        {
            "history": history,
            "input": input_json,
            "instanceId": instance_id,
            "isReplaying": False,
            "parentInstanceId": parent_instance_id,
            "upperSchemaVersion": 1,
            "upperSchemaVersionNew": 2,
        }
    )
    started = time.perf_counter()
    context = DurableOrchestrationContext.from_json(context_json)
    context._input_expected_type = orchestrator.input_type
    sdk = Orchestrator(orchestrator.generator_function)
    executor = sdk.task_orchestration_executor
    processed = 0
    process_event = executor.process_event

    def counting_process_event(ev: Any) -> None:
        nonlocal processed
        processed += 1
        process_event(ev)

    executor.process_event = counting_process_event
    error: BaseException | None = None
    try:
        sdk.handle(context)
    except Exception as exc:
        error = exc
    sdk_seconds = time.perf_counter() - started

    result = TurnResult(
        actions=flatten(context._action_payload_v2), events_processed=processed, sdk_seconds=sdk_seconds
    )
    if context.custom_status is not None:
        try:
            result.custom_status_json = json.dumps(context.custom_status)
        except (TypeError, ValueError) as exc:
            error = error or exc
    if error is not None:
        result.failure = _failure_from(error)
        return result
    if context.will_continue_as_new:
        result.continue_as_new = True
        result.continue_as_new_input = next((a.input_ for a in context._action_payload_v2 if a.action_type == 4), None)
        return result
    if executor.orchestrator_returned:
        result.completed = True
        result.output_json = json.dumps(executor.output)
        return result
    try:
        result.work = new_work(context.open_tasks, scheduled_ids, now)
    except UnsupportedActionError as exc:
        result.failure = FailureDetails(kind="unsupported", error_type=type(exc).__name__, message=str(exc))
    result.cancelled_timer_ids = cancelled_timers(context.open_tasks)
    return result
