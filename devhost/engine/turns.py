"""Orchestrator turns: due messages become history, the SDK replays it, and its decisions are committed.

A turn reads the instance's due inbox messages, appends them to its history after an OrchestratorStarted
event, replays the whole history through the SDK (`replay.run_turn`) without holding the engine's lock,
checks the replayed actions against the recorded ones, and commits in one transaction: consumed messages,
new history, activities, timers, sub-orchestrations, and the instance's new state (or its end, notifying a
parent). Hot instances keep their history in memory between turns.
"""

from __future__ import annotations

import json
import re
import threading
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from devhost.engine.actions import (
    ActionSignature,
    ScheduleActivity,
    ScheduleSubOrchestration,
    ScheduleTimer,
    find_divergence,
)
from devhost.engine.clock import Clock
from devhost.engine.discovery import Registry
from devhost.engine.errors import InvalidInstanceIdError, UnknownFunctionError
from devhost.engine.history import Event, EventType, completion_key, event, format_time
from devhost.engine.models import FailureDetails, RuntimeStatus
from devhost.engine.replay import TurnResult, run_turn
from devhost.engine.store import InboxMessage, NewActivity, NewMessage, Store

_BAD_ID = re.compile(r"[/\\?#\x00-\x1f\x7f]")
MAX_INSTANCE_ID_LENGTH = 256
ACTIVE_STATUSES = (RuntimeStatus.PENDING.value, RuntimeStatus.RUNNING.value)


def _from_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def validate_instance_id(instance_id: str) -> str:
    """The id itself, or a clear error if the host would refuse it."""
    if not instance_id or len(instance_id) > MAX_INSTANCE_ID_LENGTH:
        raise InvalidInstanceIdError(f"instance id must be 1 to {MAX_INSTANCE_ID_LENGTH} characters: {instance_id!r}")
    if _BAD_ID.search(instance_id):
        raise InvalidInstanceIdError(
            f"instance id {instance_id!r} contains '/', '\\', '?', '#' or a control character, which the host refuses"
        )
    return instance_id


@dataclass
class EngineStats:
    """Counters for benchmarks and diagnostics."""

    turns: int = 0
    sdk_seconds: float = 0.0
    activities_run: int = 0
    longest_history: int = 0


@dataclass
class _Hot:
    """An instance kept in memory between turns: its row and current-execution history."""

    row: dict[str, Any]
    history: list[Event]
    scheduled: set[int] = field(default_factory=set)
    completed: set[int] = field(default_factory=set)
    recorded: list[ActionSignature] = field(default_factory=list)

    @classmethod
    def load(cls, row: dict[str, Any], history: list[Event]) -> _Hot:
        hot = cls(row=row, history=history)
        for ev in history:
            ev["IsPlayed"] = True
            hot.note(ev)
        hot.recorded = [ActionSignature(a[0], a[1]) for a in json.loads(row["recorded_actions"])]
        return hot

    def note(self, ev: Event) -> None:
        kind = ev["EventType"]
        if kind in (EventType.TASK_SCHEDULED, EventType.TIMER_CREATED, EventType.SUB_ORCHESTRATION_CREATED):
            self.scheduled.add(int(ev["EventId"]))
        key = completion_key(ev)
        if key is not None:
            self.completed.add(key)


class TurnProcessor:
    """Runs orchestrator turns and records what they decided; the engine calls it with its lock free."""

    def __init__(
        self,
        *,
        store: Store,
        registry: Registry,
        clock: Clock,
        stats: EngineStats,
        lock: threading.RLock,
        wake: threading.Condition,
    ) -> None:
        self._store = store
        self.registry = registry
        self.clock = clock
        self.stats = stats
        self._lock = lock
        self._wake = wake
        self._hot: dict[str, _Hot] = {}

    def forget(self, instance_id: str) -> None:
        """Drop the in-memory copy of an instance (it was purged or replaced)."""
        self._hot.pop(instance_id, None)

    def history_of(self, instance_id: str) -> list[Event]:
        """The current execution's history, from memory when the instance is hot."""
        hot = self._hot.get(instance_id)
        return hot.history if hot is not None else self._store.load_history(instance_id)

    def fail_by_engine(self, instance_id: str, exc: Exception) -> None:
        """Fail an instance whose turn broke inside the engine, so that one bad instance cannot stall the rest."""
        failure = FailureDetails(
            kind="engine",
            error_type=type(exc).__name__,
            message=f"the devhost engine failed while running this instance: {exc}",
            stack_trace="".join(traceback.format_exception(exc)),
        )
        with self._lock:
            now = self.clock.now()
            messages = self._store.ready_messages(instance_id, now.timestamp())
            self._hot.pop(instance_id, None)
            hot = self._load_hot(instance_id)
            with self._store.transaction() as db:
                self._store.delete_messages(db, [m.id for m in messages])
                if hot is not None and not RuntimeStatus(hot.row["runtime_status"]).is_terminal:
                    hot.row["last_updated_at"] = format_time(now)
                    self._finish(db, hot, [], RuntimeStatus.FAILED, now, failure=failure)
            self._wake.notify_all()

    # ---- one turn ----------------------------------------------------------------------------------

    def _load_hot(self, instance_id: str) -> _Hot | None:
        hot = self._hot.get(instance_id)
        if hot is None:
            row = self._store.get_instance(instance_id)
            if row is None:
                return None
            hot = _Hot.load(row, self._store.load_history(instance_id))
            if not RuntimeStatus(row["runtime_status"]).is_terminal:
                self._hot[instance_id] = hot
        return hot

    def create_instance(
        self,
        db: Any,
        instance_id: str,
        name: str,
        input_json: str | None,
        parent: tuple[str, str, int] | None,
    ) -> None:
        now = format_time(self.clock.now())
        execution_id = uuid.uuid4().hex
        self._store.delete_instance(db, instance_id)
        self._hot.pop(instance_id, None)
        self._store.put_instance(
            db,
            {
                "instance_id": instance_id,
                "name": name,
                "execution_id": execution_id,
                "runtime_status": RuntimeStatus.PENDING.value,
                "input": input_json,
                "created_at": now,
                "last_updated_at": now,
                "parent_instance_id": parent[0] if parent else None,
                "parent_execution_id": parent[1] if parent else None,
                "parent_task_id": parent[2] if parent else None,
                "recorded_actions": "[]",
                "generation": 0,
            },
        )
        self._store.add_messages(db, [NewMessage(instance_id, "start", {}, execution_id=execution_id)])

    def run(self, instance_id: str) -> None:
        """One turn of the instance: deliver its due messages, replay, commit what the orchestrator decided."""
        now = self.clock.now()
        with self._lock:
            messages = self._store.ready_messages(instance_id, now.timestamp())
            hot = self._load_hot(instance_id)
            if hot is None or RuntimeStatus(hot.row["runtime_status"]).is_terminal or not messages:
                with self._store.transaction() as db:
                    self._store.delete_messages(db, [m.id for m in messages])
                return
            terminate = next((m for m in messages if m.kind == "terminate"), None)
            if terminate is not None:
                self._finish_terminated(hot, messages, str(terminate.body.get("reason", "")), now)
                return
            new_events = self._events_from(hot, messages, now)
            if not new_events:
                with self._store.transaction() as db:
                    self._store.delete_messages(db, [m.id for m in messages])
                return
        turn_events = [event(EventType.ORCHESTRATOR_STARTED, now), *new_events]
        row = hot.row
        try:
            orchestrator = self.registry.orchestrator(row["name"])
        except UnknownFunctionError as exc:
            result = TurnResult(
                actions=[],
                failure=FailureDetails(kind="orchestrator", error_type=type(exc).__name__, message=str(exc)),
            )
        else:
            result = run_turn(
                orchestrator,
                instance_id=instance_id,
                parent_instance_id=row["parent_instance_id"],
                input_json=row["input"],
                history=hot.history + turn_events,
                scheduled_ids=hot.scheduled,
                now=now,
            )
        divergence = find_divergence(hot.recorded, result.actions)
        if divergence is not None:
            result.failure = FailureDetails(
                kind="nondeterminism", error_type="NonDeterministicOrchestrationError", message=divergence
            )
        with self._lock:
            self.stats.turns += 1
            self.stats.sdk_seconds += result.sdk_seconds
            self._commit(hot, messages, turn_events, result, now)
            self._wake.notify_all()

    def _events_from(self, hot: _Hot, messages: list[InboxMessage], now: datetime) -> list[Event]:
        row = hot.row
        fresh: list[Event] = []
        seen: set[int] = set()
        for message in messages:
            if message.execution_id is not None and message.execution_id != row["execution_id"]:
                continue
            if message.kind == "start":
                if not hot.history:
                    fresh.append(
                        event(
                            EventType.EXECUTION_STARTED,
                            now,
                            Name=row["name"],
                            Input=row["input"],
                            OrchestrationInstance={
                                "InstanceId": row["instance_id"],
                                "ExecutionId": row["execution_id"],
                            },
                            ParentInstance=row["parent_instance_id"],
                            Version="",
                        )
                    )
                continue
            ev = dict(message.body)
            key = completion_key(ev)
            if key is not None and (key not in hot.scheduled or key in hot.completed or key in seen):
                continue  # a duplicate (at-least-once delivery) or a completion for an older execution
            if key is not None:
                seen.add(key)
            ev["Timestamp"] = format_time(now)
            ev["IsPlayed"] = False
            fresh.append(ev)
        if not hot.history and not any(ev["EventType"] == EventType.EXECUTION_STARTED for ev in fresh):
            return []
        return fresh

    def _commit(
        self, hot: _Hot, messages: list[InboxMessage], turn_events: list[Event], result: TurnResult, now: datetime
    ) -> None:
        row = hot.row
        instance_id = row["instance_id"]
        scheduling: list[Event] = []
        current = self._store.get_instance(instance_id)
        if current is None or current["execution_id"] != row["execution_id"]:
            self._hot.pop(instance_id, None)  # purged or restarted while the turn ran: the turn is moot
            return
        with self._store.transaction() as db:
            self._store.delete_messages(db, [m.id for m in messages])
            if result.custom_status_json is not None:
                row["custom_status"] = result.custom_status_json
            row["last_updated_at"] = format_time(now)
            if result.failure is not None:
                self._finish(db, hot, turn_events, RuntimeStatus.FAILED, now, failure=result.failure)
                return
            if result.completed:
                self._finish(db, hot, turn_events, RuntimeStatus.COMPLETED, now, output_json=result.output_json)
                return
            if result.continue_as_new:
                self._continue_as_new(db, hot, turn_events, result, now)
                return
            for work in result.work:
                scheduling.append(self._schedule(db, row, work, now))
            if result.cancelled_timer_ids:
                self._store.delete_timers(db, instance_id, result.cancelled_timer_ids)
            added = turn_events + scheduling
            self._store.append_history(db, instance_id, len(hot.history), added)
            row["runtime_status"] = RuntimeStatus.RUNNING.value
            hot.recorded = result.actions
            row["recorded_actions"] = json.dumps([[a.action_type, a.name] for a in result.actions])
            self._store.put_instance(db, row)
        for ev in added:
            ev["IsPlayed"] = True
            hot.history.append(ev)
            hot.note(ev)
        self.stats.longest_history = max(self.stats.longest_history, len(hot.history))

    def _schedule(
        self,
        db: Any,
        row: dict[str, Any],
        work: ScheduleActivity | ScheduleSubOrchestration | ScheduleTimer,
        now: datetime,
    ) -> Event:
        instance_id, execution_id = row["instance_id"], row["execution_id"]
        if isinstance(work, ScheduleActivity):
            self._store.add_activities(
                db, [NewActivity(instance_id, execution_id, work.task_id, work.name, work.input_json)]
            )
            return event(EventType.TASK_SCHEDULED, now, work.task_id, Name=work.name, Input=work.input_json)
        if isinstance(work, ScheduleTimer):
            fired = event(EventType.TIMER_FIRED, work.fire_at, TimerId=work.task_id, FireAt=format_time(work.fire_at))
            self._store.add_messages(
                db,
                [
                    NewMessage(
                        instance_id,
                        "event",
                        fired,
                        execution_id=execution_id,
                        due_at=work.fire_at.timestamp(),
                        timer_id=work.task_id,
                    )
                ],
            )
            return event(EventType.TIMER_CREATED, now, work.task_id, FireAt=format_time(work.fire_at))
        child_id = work.instance_id or f"{instance_id}:{work.task_id}"
        created = event(
            EventType.SUB_ORCHESTRATION_CREATED,
            now,
            work.task_id,
            Name=work.name,
            InstanceId=child_id,
            Input=work.input_json,
        )
        problem = self._sub_orchestration_problem(child_id, work.name)
        if problem is not None:
            failed = event(
                EventType.SUB_ORCHESTRATION_FAILED, now, TaskScheduledId=work.task_id, Reason=problem, Details=None
            )
            self._store.add_messages(db, [NewMessage(instance_id, "event", failed, execution_id=execution_id)])
            return created
        self.create_instance(db, child_id, work.name, work.input_json, parent=(instance_id, execution_id, work.task_id))
        return created

    def _sub_orchestration_problem(self, child_id: str, name: str) -> str | None:
        try:
            validate_instance_id(child_id)
            self.registry.orchestrator(name)
        except (InvalidInstanceIdError, UnknownFunctionError) as exc:
            return str(exc)
        existing = self._store.get_instance(child_id)
        if existing is not None and existing["runtime_status"] in ACTIVE_STATUSES:
            return f"an orchestration instance with id {child_id!r} is already {existing['runtime_status']}"
        return None

    def _finish(
        self,
        db: Any,
        hot: _Hot,
        turn_events: list[Event],
        status: RuntimeStatus,
        now: datetime,
        *,
        output_json: str | None = None,
        failure: FailureDetails | None = None,
    ) -> None:
        row = hot.row
        instance_id = row["instance_id"]
        if failure is not None:
            output_json = json.dumps(f"Orchestrator function '{row['name']}' failed: {failure.message}")
        completed = event(
            EventType.EXECUTION_COMPLETED if status != RuntimeStatus.TERMINATED else EventType.EXECUTION_TERMINATED,
            now,
            OrchestrationStatus=status.value,
            Result=output_json,
            FailureDetails=failure.model_dump() if failure else None,
        )
        added = [*turn_events, completed]
        self._store.append_history(db, instance_id, len(hot.history), added)
        self._store.delete_execution_work(db, instance_id, row["execution_id"])
        row.update(
            runtime_status=status.value,
            output=output_json,
            failure=failure.model_dump_json() if failure else None,
        )
        self._store.put_instance(db, row)
        self._notify_parent(db, row=row, status=status, output_json=output_json, failure=failure, now=now)
        hot.history.extend(added)
        self.stats.longest_history = max(self.stats.longest_history, len(hot.history))
        self._hot.pop(instance_id, None)

    def _notify_parent(
        self,
        db: Any,
        *,
        row: dict[str, Any],
        status: RuntimeStatus,
        output_json: str | None,
        failure: FailureDetails | None,
        now: datetime,
    ) -> None:
        parent_id = row["parent_instance_id"]
        if parent_id is None:
            return
        task_id = int(row["parent_task_id"])
        if status == RuntimeStatus.COMPLETED:
            body = event(EventType.SUB_ORCHESTRATION_COMPLETED, now, TaskScheduledId=task_id, Result=output_json)
        else:
            reason = (
                f"Sub-orchestration '{row['name']}' ({row['instance_id']}) "
                f"{'was terminated' if status == RuntimeStatus.TERMINATED else 'failed'}: "
                f"{failure.message if failure else _from_json(output_json)}"
            )
            body = event(
                EventType.SUB_ORCHESTRATION_FAILED,
                now,
                TaskScheduledId=task_id,
                Reason=reason,
                Details=failure.stack_trace if failure else None,
            )
        self._store.add_messages(db, [NewMessage(parent_id, "event", body, execution_id=row["parent_execution_id"])])

    def _finish_terminated(self, hot: _Hot, messages: list[InboxMessage], reason: str, now: datetime) -> None:
        with self._store.transaction() as db:
            self._store.delete_messages(db, [m.id for m in messages])
            hot.row["last_updated_at"] = format_time(now)
            self._finish(db, hot, [], RuntimeStatus.TERMINATED, now, output_json=json.dumps(reason))
        self._wake.notify_all()

    def _continue_as_new(self, db: Any, hot: _Hot, turn_events: list[Event], result: TurnResult, now: datetime) -> None:
        row = hot.row
        instance_id = row["instance_id"]
        old_length = len(hot.history) + len(turn_events) + 1
        self.stats.longest_history = max(self.stats.longest_history, old_length)
        base = len(hot.history)
        unprocessed = [
            ev
            for index, ev in enumerate(turn_events)
            if base + index >= result.events_processed and ev["EventType"] == EventType.EVENT_RAISED
        ]
        self._store.delete_execution_work(db, instance_id, row["execution_id"])
        self._store.clear_history(db, instance_id)
        execution_id = uuid.uuid4().hex
        row.update(
            execution_id=execution_id,
            runtime_status=RuntimeStatus.RUNNING.value,
            input=result.continue_as_new_input,
            output=None,
            recorded_actions="[]",
            generation=int(row["generation"]) + 1,
        )
        self._store.put_instance(db, row)
        carried = [NewMessage(instance_id, "event", {**ev, "IsPlayed": False}) for ev in unprocessed]
        self._store.add_messages(db, [NewMessage(instance_id, "start", {}, execution_id=execution_id), *carried])
        self._hot[instance_id] = _Hot(row=row, history=[])
