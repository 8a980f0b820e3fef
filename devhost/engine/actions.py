"""What an orchestrator asked for in a turn, read from the SDK's own objects, and the determinism check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.durable_functions.models.actions.Action import Action
from azure.durable_functions.models.actions.ActionType import ActionType
from azure.durable_functions.models.actions.CallActivityAction import CallActivityAction
from azure.durable_functions.models.actions.CallActivityWithRetryAction import CallActivityWithRetryAction
from azure.durable_functions.models.actions.CallSubOrchestratorAction import CallSubOrchestratorAction
from azure.durable_functions.models.actions.CallSubOrchestratorWithRetryAction import (
    CallSubOrchestratorWithRetryAction,
)
from azure.durable_functions.models.actions.CompoundAction import CompoundAction
from azure.durable_functions.models.actions.CreateTimerAction import CreateTimerAction
from azure.durable_functions.models.actions.NoOpAction import NoOpAction
from azure.durable_functions.models.actions.WaitForExternalEventAction import WaitForExternalEventAction
from azure.durable_functions.models.Task import AtomicTask, TimerTask

_RETRY_TIMER = "-WithRetry timer"  # NoOpAction metadata the SDK gives a retry's back-off timer


@dataclass(frozen=True)
class ActionSignature:
    """An action's identity for the determinism check: its type and the name it targets."""

    action_type: int
    name: str | None

    def describe(self) -> str:
        """E.g. `CALL_ACTIVITY 'send_event'`."""
        kind = ActionType(self.action_type).name if self.action_type in ActionType._value2member_map_ else "?"
        return f"{kind} {self.name!r}" if self.name is not None else kind


def _name_of(action: Action) -> str | None:
    if isinstance(action, WaitForExternalEventAction):
        return str(action.external_event_name)
    name = getattr(action, "function_name", None)
    return name if isinstance(name, str) else None


def flatten(actions: list[Action]) -> list[ActionSignature]:
    """Every atomic action in yield order, compound actions (task_all/task_any) opened depth-first."""
    flat: list[ActionSignature] = []
    for action in actions:
        if isinstance(action, CompoundAction):
            flat.extend(flatten(action.compound_tasks))
        else:
            flat.append(ActionSignature(int(action.action_type), _name_of(action)))
    return flat


def find_divergence(recorded: list[ActionSignature], replayed: list[ActionSignature]) -> str | None:
    """A sentence naming the first position where replayed actions differ from the recorded ones, else None."""
    for position, before in enumerate(recorded):
        if position >= len(replayed):
            return (
                f"non-deterministic orchestrator: at action position {position} the history recorded "
                f"{before.describe()} but the code no longer yields any action there"
            )
        now = replayed[position]
        if now != before:
            return (
                f"non-deterministic orchestrator: at action position {position} the history recorded "
                f"{before.describe()} but the code now yields {now.describe()}"
            )
    return None


@dataclass(frozen=True)
class ScheduleActivity:
    """Run an activity; `input_json` is the JSON text the SDK serialised."""

    task_id: int
    name: str
    input_json: str | None


@dataclass(frozen=True)
class ScheduleSubOrchestration:
    """Start a sub-orchestration (its instance id is generated when None)."""

    task_id: int
    name: str
    input_json: str | None
    instance_id: str | None


@dataclass(frozen=True)
class ScheduleTimer:
    """Fire a timer at `fire_at`."""

    task_id: int
    fire_at: datetime


Work = ScheduleActivity | ScheduleSubOrchestration | ScheduleTimer


class UnsupportedActionError(Exception):
    """The orchestrator used an API the devhost engine does not implement (entities, call_http)."""


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _work_for(task_id: int, action: Action, now: datetime) -> Work:
    if isinstance(action, CallActivityAction | CallActivityWithRetryAction):
        return ScheduleActivity(task_id, action.function_name, action.input_)
    if isinstance(action, CallSubOrchestratorAction):
        return ScheduleSubOrchestration(task_id, action.function_name, action._input, action.instance_id)
    if isinstance(action, CallSubOrchestratorWithRetryAction):
        return ScheduleSubOrchestration(task_id, action.function_name, action._input, action.instance_id)
    if isinstance(action, CreateTimerAction):
        return ScheduleTimer(task_id, _aware(action.fire_at))
    raise UnsupportedActionError(
        f"{type(action).__name__} is not supported by the devhost engine (durable entities and call_http are not "
        "implemented); use activities instead"
    )


def new_work(open_tasks: dict[Any, Any], scheduled: set[int], now: datetime) -> list[Work]:
    """Tasks the SDK opened with a sequence id that history has not scheduled yet, in id order.

    Retries appear as the SDK's own NoOp tasks under a `RetryAbleTask`: a back-off timer, then the
    rescheduled call. Their ids come from the SDK, so history matches what the host records.
    """
    found: list[Work] = []
    for key, task in open_tasks.items():
        if not isinstance(key, int) or key in scheduled or not isinstance(task, AtomicTask):
            continue
        action = task.action_repr[0] if isinstance(task.action_repr, list) else task.action_repr
        if isinstance(action, NoOpAction):
            retry = task.parent
            if action.metadata == _RETRY_TIMER:
                delay = timedelta(milliseconds=retry.retry_options.first_retry_interval_in_milliseconds)
                found.append(ScheduleTimer(key, now + delay))
            else:
                original = retry.actions[0] if isinstance(retry.actions, list) else retry.actions
                found.append(_work_for(key, original, now))
        else:
            found.append(_work_for(key, action, now))
    return sorted(found, key=lambda work: work.task_id)


def cancelled_timers(open_tasks: dict[Any, Any]) -> set[int]:
    """Ids of open timers the orchestrator cancelled (`timer.cancel()`)."""
    return {
        key
        for key, task in open_tasks.items()
        if isinstance(key, int) and isinstance(task, TimerTask) and task.is_cancelled
    }
