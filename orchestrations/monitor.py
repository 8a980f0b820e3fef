"""The poll-until sub-orchestration: waits for a training job or a deployment without holding compute.

Poll, then sleep on a durable timer with exponential backoff (capped), racing a `cancel` external event, until
the target is terminal or the deadline passes. Every `polls_per_generation` polls it continues as new, so a
48-hour training has no bigger history than a 1-hour one.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from orchestrations import names
from orchestrations.calls import Task, activity, parse
from shared.events import EventType
from shared.models import MonitorInput, MonitorOutcome, MonitorResult, PollInput, PollStatus, PublishInput
from shared.policy import Backoff

bp = df.Blueprint()

_TERMINAL_OUTCOMES = {
    True: MonitorOutcome.SUCCEEDED,
    False: MonitorOutcome.FAILED,
}


def _outcome_of(status: PollStatus) -> MonitorOutcome:
    if status.state == "canceled":
        return MonitorOutcome.CANCELED
    return _TERMINAL_OUTCOMES[status.succeeded]


def monitor(context: df.DurableOrchestrationContext) -> Generator[Task, Any, dict[str, Any] | None]:
    """One generation of the monitor; returns a `MonitorResult` as JSON, or continues as new."""
    state = MonitorInput.model_validate(context.get_input())
    backoff = Backoff(state.initial_interval_s, state.max_interval_s)
    cancel = context.wait_for_external_event(names.CANCEL_EVENT)
    traced: dict[str, Any] = {"trace": state.trace, "run_id": state.run_id, "stage": state.kind.value}
    last: PollStatus | None = None
    polls = state.polls_done
    sequence = state.next_sequence
    last_state = state.last_state
    for _ in range(state.polls_per_generation):
        last = parse(
            PollStatus,
            (yield activity(context, names.GET_STATUS, PollInput(kind=state.kind, name=state.name), **traced)),
        )
        polls += 1
        if state.publish_status_changes and last.state != last_state:
            event = PublishInput(
                run_id=state.run_id,
                event_type=EventType.TRAINING_STATUS_CHANGED,
                sequence=sequence,
                state=last.state,
                time=context.current_utc_datetime,
                data={
                    "jobName": state.name,
                    "status": last.state,
                    "progress": last.progress,
                    "trainLoss": last.train_loss,
                    "validationLoss": last.validation_loss,
                },
            )
            yield activity(context, names.PUBLISH_EVENT, event, **traced)
            sequence += 1
        last_state = last.state
        if last.terminal:
            return _result(_outcome_of(last), last, polls, sequence)
        now = context.current_utc_datetime
        if now >= state.deadline:
            return _result(MonitorOutcome.DEADLINE, last, polls, sequence)
        wake_at = min(now + timedelta(seconds=backoff.delay_s(polls - 1)), state.deadline)
        timer = context.create_timer(wake_at)
        winner = yield context.task_any([timer, cancel])
        if winner is cancel:
            timer.cancel()
            return _result(MonitorOutcome.CANCEL_REQUESTED, last, polls, sequence)
    next_generation = state.model_copy(
        update={"polls_done": polls, "last_state": last_state, "next_sequence": sequence}
    )
    context.continue_as_new(next_generation.model_dump(mode="json"))
    return None


def _result(outcome: MonitorOutcome, last: PollStatus | None, polls: int, sequence: int) -> dict[str, Any]:
    return MonitorResult(outcome=outcome, last=last, polls=polls, next_sequence=sequence).model_dump(mode="json")


bp.orchestration_trigger(context_name="context", orchestration=names.MONITOR)(monitor)
