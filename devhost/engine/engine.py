"""The durable engine: runs an app's orchestrations and activities through the real Durable SDK.

An orchestrator turn is a replay of the instance's history through the SDK; what the SDK asks for
(activities, timers, sub-orchestrations) becomes work in the SQLite store in the same transaction as the
history it extends. Activities run on a thread pool under leases (at least once); completions, timers and
external events are messages in an inbox that the next turn turns into history.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from azure.functions import FunctionRegister

from devhost.engine.actions import (
    ActionSignature,
    ScheduleActivity,
    ScheduleSubOrchestration,
    ScheduleTimer,
    find_divergence,
)
from devhost.engine.clock import Clock, RealClock
from devhost.engine.discovery import Registry, discover
from devhost.engine.errors import (
    EngineStuckError,
    EngineTimeoutError,
    InstanceAlreadyRunningError,
    InstanceGoneError,
    InstanceNotFoundError,
    InstanceStillRunningError,
    InvalidInstanceIdError,
    UnknownFunctionError,
)
from devhost.engine.history import Event, EventType, completion_key, event, format_time, parse_time
from devhost.engine.models import FailureDetails, InstanceStatus, RuntimeStatus
from devhost.engine.replay import TurnResult, run_turn
from devhost.engine.store import ActivityItem, InboxMessage, NewActivity, NewMessage, Store
from devhost.engine.worker import run_activity

if TYPE_CHECKING:
    from devhost.engine.client import FunctionInvoker

log = logging.getLogger(__name__)
T = TypeVar("T")

_BAD_ID = re.compile(r"[/\\?#\x00-\x1f\x7f]")
MAX_INSTANCE_ID_LENGTH = 256
STOP_GRACE_SECONDS = 5.0
_ACTIVE = (RuntimeStatus.PENDING.value, RuntimeStatus.RUNNING.value)


def validate_instance_id(instance_id: str) -> str:
    """The id itself, or a clear error if the host would refuse it."""
    if not instance_id or len(instance_id) > MAX_INSTANCE_ID_LENGTH:
        raise InvalidInstanceIdError(f"instance id must be 1 to {MAX_INSTANCE_ID_LENGTH} characters: {instance_id!r}")
    if _BAD_ID.search(instance_id):
        raise InvalidInstanceIdError(
            f"instance id {instance_id!r} contains '/', '\\', '?', '#' or a control character, which the host refuses"
        )
    return instance_id


def _to_json(value: Any, what: str) -> str | None:
    if value is None:
        return None
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be JSON-serialisable: {exc}") from None


def _from_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


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


class Engine:
    """Runs the orchestrations and activities registered on `app` (a `df.DFApp`).

    `store_path=None` keeps the store in memory. With a `VirtualClock`, `run_until_idle` and
    `run_until_complete` jump time to the next due timer whenever nothing else can run. `start()` runs
    the engine on background threads and serves the Durable HTTP management API on 127.0.0.1.
    """

    def __init__(
        self,
        app: FunctionRegister,
        store_path: Path | None = None,
        clock: Clock | None = None,
        activity_workers: int = 4,
        *,
        lease_seconds: float = 300.0,
        management_port: int = 0,
        task_hub: str = "devhost",
    ) -> None:
        if activity_workers < 1:
            raise ValueError(f"activity_workers must be at least 1, got {activity_workers}")
        self.app = app
        self.registry: Registry = discover(app)
        self.clock: Clock = clock or RealClock()
        self.stats = EngineStats()
        self.task_hub = task_hub
        self._workers = activity_workers
        self._lease_seconds = lease_seconds
        self._management_port = management_port
        self._store = Store(store_path)
        self._store.release_all_leases()
        self._owner = uuid.uuid4().hex
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._pool = ThreadPoolExecutor(max_workers=activity_workers, thread_name_prefix="activity")
        self._in_flight = 0
        self._running: dict[int, ActivityItem] = {}
        self._leases_renewed_at = time.monotonic()
        self._hot: dict[str, _Hot] = {}
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._closed = False
        self._http: Any = None
        self._invoker: FunctionInvoker | None = None
        self.management_url: str | None = None

    # ---- public API ------------------------------------------------------------------------------

    def start_new(self, orchestrator_name: str, instance_id: str | None = None, input: Any = None) -> str:
        """Create an instance (Pending until its first turn); refused if that id is pending or running."""
        self.registry.orchestrator(orchestrator_name)
        instance_id = validate_instance_id(instance_id) if instance_id is not None else uuid.uuid4().hex
        input_json = _to_json(input, "orchestration input")
        with self._lock:
            existing = self._store.get_instance(instance_id)
            if existing is not None and existing["runtime_status"] in _ACTIVE:
                raise InstanceAlreadyRunningError(
                    f"an orchestration instance with id {instance_id!r} is already {existing['runtime_status']}; "
                    "wait for it to finish or terminate it first"
                )
            with self._store.transaction() as db:
                self._create_instance(db, instance_id, orchestrator_name, input_json, parent=None)
            self._wake.notify_all()
        return instance_id

    def raise_event(self, instance_id: str, event_name: str, data: Any = None) -> None:
        """Deliver an external event (buffered until the orchestrator waits for it)."""
        if not event_name:
            raise ValueError("event name must be a non-empty string")
        data_json = _to_json(data, "event data")
        with self._lock:
            row = self._require(instance_id)
            if not RuntimeStatus(row["runtime_status"]).is_terminal:
                body = event(EventType.EVENT_RAISED, self.clock.now(), Name=event_name, Input=data_json)
                with self._store.transaction() as db:
                    self._store.add_messages(db, [NewMessage(instance_id, "event", body)])
                self._wake.notify_all()
                return
        raise InstanceGoneError(f"instance {instance_id!r} is {row['runtime_status']}: it cannot receive events")

    def terminate(self, instance_id: str, reason: str) -> None:
        """Ask a pending or running instance to stop (applied at its next turn)."""
        with self._lock:
            row = self._require(instance_id)
            if RuntimeStatus(row["runtime_status"]).is_terminal:
                raise InstanceGoneError(f"instance {instance_id!r} is already {row['runtime_status']}")
            with self._store.transaction() as db:
                self._store.add_messages(db, [NewMessage(instance_id, "terminate", {"reason": reason})])
            self._wake.notify_all()

    def purge(self, instance_id: str) -> bool:
        """Delete a finished instance and its history; False if there was none.

        Pending or running instances are refused (`InstanceStillRunningError`), as the host refuses them.
        """
        with self._lock:
            row = self._store.get_instance(instance_id)
            if row is None:
                return False
            if not RuntimeStatus(row["runtime_status"]).is_terminal:
                raise InstanceStillRunningError(
                    f"only finished instances can be purged, but {instance_id!r} is {row['runtime_status']}"
                )
            with self._store.transaction() as db:
                self._store.delete_instance(db, instance_id)
            self._hot.pop(instance_id, None)
            return True

    def purge_where(
        self,
        *,
        runtime_status: list[str] | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
    ) -> int:
        """Delete every finished instance matching the filters; returns how many were deleted."""
        terminal = {s.value for s in RuntimeStatus if s.is_terminal}
        wanted = [s for s in (runtime_status or terminal) if s in terminal]
        with self._lock:
            rows = self._store.query_instances(
                statuses=wanted,
                created_from=format_time(created_from) if created_from else None,
                created_to=format_time(created_to) if created_to else None,
            )
            with self._store.transaction() as db:
                for row in rows:
                    self._store.delete_instance(db, row["instance_id"])
            return len(rows)

    def invoke(self, function_name: str, /, timeout_s: float = 60.0, **arguments: Any) -> Any:
        """Call one of the app's functions (HTTP, blob, timer... trigger) as the host would.

        A `durable_client_input` parameter receives a client bound to this engine's management API
        (so `start()` must have been called); the other parameters are the `arguments` given.
        """
        return self._function_invoker().invoke(function_name, timeout_s=timeout_s, **arguments)

    def with_client(self, call: Callable[[Any], Awaitable[T]], timeout_s: float = 60.0) -> T:
        """`call(client)` with the SDK's `DurableOrchestrationClient` bound to this engine (needs `start()`).

        Example: `engine.with_client(lambda c: c.get_status(instance_id))`.
        """
        return self._function_invoker().with_client(call, timeout_s)

    def _function_invoker(self) -> FunctionInvoker:
        from devhost.engine.client import FunctionInvoker  # noqa: PLC0415 - avoids an import cycle

        with self._lock:
            if self._invoker is None:
                self._invoker = FunctionInvoker(self)
            return self._invoker

    def client_binding(self) -> str:
        """The `durableClient` binding JSON for this engine (its management API must be running)."""
        from devhost.engine.client import client_binding_json  # noqa: PLC0415 - avoids an import cycle

        return client_binding_json(self)

    def get_status(self, instance_id: str) -> InstanceStatus | None:
        """The instance's status, or None if there is no such instance."""
        with self._lock:
            row = self._store.get_instance(instance_id)
        return None if row is None else _status_of(row)

    def get_history(self, instance_id: str) -> list[Event]:
        """The current execution's history events (PascalCase, as the SDK receives them)."""
        with self._lock:
            self._require(instance_id)
            hot = self._hot.get(instance_id)
            events = hot.history if hot is not None else self._store.load_history(instance_id)
            return [{**ev, "IsPlayed": True} for ev in events]

    def query(
        self,
        runtime_status: list[RuntimeStatus] | None = None,
        prefix: str | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
    ) -> list[InstanceStatus]:
        """Instances matching every given filter, ordered by instance id."""
        with self._lock:
            rows = self._store.query_instances(
                statuses=[s.value for s in runtime_status or []],
                prefix=prefix,
                created_from=format_time(created_from) if created_from else None,
                created_to=format_time(created_to) if created_to else None,
            )
        return [_status_of(row) for row in rows]

    def query_page(
        self,
        *,
        runtime_status: list[str] | None,
        prefix: str | None,
        created_from: datetime | None,
        created_to: datetime | None,
        after_id: str | None,
        top: int | None,
    ) -> list[InstanceStatus]:
        """One page of `query` (instances after `after_id`, at most `top`) for the HTTP API."""
        with self._lock:
            rows = self._store.query_instances(
                statuses=runtime_status,
                prefix=prefix,
                created_from=format_time(created_from) if created_from else None,
                created_to=format_time(created_to) if created_to else None,
                after_id=after_id,
                limit=top,
            )
        return [_status_of(row) for row in rows]

    def run_until_idle(self, timeout_s: float = 60.0, *, advance_clock: bool = True) -> None:
        """Run until nothing is left to do (a virtual clock skips to each due timer on the way).

        With `advance_clock=False` a virtual clock stands still: the call returns once only future
        timers (or waits for external events) remain.
        """
        deadline = time.monotonic() + timeout_s
        if self._thread is not None:
            self._wait(self._is_idle, deadline, "the engine to become idle")
            return
        self._drive(
            lambda: False,
            deadline,
            stop_when_idle=True,
            waiting_for="the engine to become idle",
            advance_clock=advance_clock,
        )

    def run_until_complete(self, instance_id: str, timeout_s: float = 60.0) -> InstanceStatus:
        """Run until the instance completes, fails or is terminated; returns its final status."""
        return self.run_until(
            instance_id, lambda status: status.is_terminal, timeout_s, what=f"instance {instance_id!r} to finish"
        )

    def run_until(
        self,
        instance_id: str,
        condition: Callable[[InstanceStatus], bool],
        timeout_s: float = 60.0,
        *,
        what: str | None = None,
    ) -> InstanceStatus:
        """Run until `condition(status)` holds for the instance, e.g. a stage in its custom status.

        The condition is checked before the virtual clock jumps to the next timer, so a test can stop
        where an orchestrator waits for an event and raise it before any deadline fires.
        """
        self._require_exists(instance_id)
        deadline = time.monotonic() + timeout_s
        waiting_for = what or f"instance {instance_id!r} to reach the awaited state"

        def reached() -> bool:
            status = self.get_status(instance_id)
            return status is None or condition(status)

        if self._thread is not None:
            self._wait(reached, deadline, waiting_for)
        else:
            self._drive(reached, deadline, stop_when_idle=True, waiting_for=waiting_for)
        status = self.get_status(instance_id)
        if status is None:
            raise InstanceNotFoundError(f"instance {instance_id!r} was purged while it ran")
        if not condition(status):
            raise EngineStuckError(
                f"instance {instance_id!r} is {status.runtime_status.value} and nothing is left to run: "
                f"gave up waiting for {waiting_for} (is it waiting for an external event? raise it with raise_event)"
            )
        return status

    def start(self) -> None:
        """Run the engine on a background thread and serve the Durable HTTP management API."""
        if self._thread is not None:
            return
        from devhost.engine.http_api import ManagementServer  # noqa: PLC0415 - the server is optional

        self._http = ManagementServer(self, port=self._management_port)
        self._http.start()
        self.management_url = self._http.base_url
        self._stopping = False
        self._thread = threading.Thread(target=self._background, name="durable-engine", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background thread, the HTTP API and the activity pool, then close the store (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._stopping = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self._invoker = None
        if self._http is not None:
            self._http.stop()
            self._http = None
        self._pool.shutdown(wait=False, cancel_futures=True)
        give_up = time.monotonic() + STOP_GRACE_SECONDS
        with self._lock:
            # Activities still running after the grace period keep their work items: they run again next start.
            while self._in_flight > 0 and time.monotonic() < give_up:
                self._wake.wait(0.05)
            self._closed = True
            self._store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- driving -----------------------------------------------------------------------------------

    def _background(self) -> None:
        try:
            self._drive(lambda: self._stopping, None, stop_when_idle=False, waiting_for="")
        except Exception:
            log.exception("the durable engine's background loop stopped")

    def _is_idle(self) -> bool:
        with self._lock:
            return self._in_flight == 0 and self._store.activity_count() == 0 and not self._store.has_messages()

    def _wait(self, done: Callable[[], bool], deadline: float, what: str) -> None:
        while not done():
            if time.monotonic() > deadline:
                raise EngineTimeoutError(f"timed out waiting for {what}")
            with self._lock:
                self._wake.wait(0.02)

    def _drive(
        self,
        done: Callable[[], bool],
        deadline: float | None,
        *,
        stop_when_idle: bool,
        waiting_for: str,
        advance_clock: bool = True,
    ) -> None:
        while not done():
            if deadline is not None and time.monotonic() > deadline:
                raise EngineTimeoutError(f"timed out waiting for {waiting_for}")
            if self._step():
                continue
            with self._lock:
                if self._stopping and not stop_when_idle:
                    return
                if self._store.next_ready_instance(self.clock.now().timestamp()) is not None:
                    continue
                if self._in_flight > 0 or self._store.activity_count() > 0:
                    self._wake.wait(0.05)
                    continue
                next_due = self._store.next_due_time()
                if next_due is not None and not (self.clock.is_virtual and not advance_clock):
                    if self.clock.is_virtual:
                        self.clock.advance_to(datetime.fromtimestamp(next_due, UTC))
                    else:
                        self._wake.wait(min(max(next_due - self.clock.now().timestamp(), 0.001), 0.5))
                    continue
                if stop_when_idle:
                    return
                self._wake.wait(0.5)

    def _step(self) -> bool:
        with self._lock:
            self._dispatch_activities()
            instance_id = self._store.next_ready_instance(self.clock.now().timestamp())
        if instance_id is None:
            return False
        try:
            self._turn(instance_id)
        except Exception as exc:
            log.exception("the durable engine could not run a turn of instance %s", instance_id)
            self._fail_by_engine(instance_id, exc)
        return True

    def _fail_by_engine(self, instance_id: str, exc: Exception) -> None:
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

    # ---- activities --------------------------------------------------------------------------------

    def _dispatch_activities(self) -> None:
        if self._stopping:
            return
        if self._running and time.monotonic() - self._leases_renewed_at > self._lease_seconds / 3:
            # Activities still running here keep their leases, so a long one is not started twice.
            self._store.renew_leases(list(self._running.values()), time.time() + self._lease_seconds)
            self._leases_renewed_at = time.monotonic()
        items = self._store.claim_activities(
            self._owner, time.time(), self._lease_seconds, self._workers - self._in_flight
        )
        for item in items:
            self._in_flight += 1
            self._running[item.id] = item
            self._pool.submit(self._execute, item)

    def _execute(self, item: ActivityItem) -> None:
        try:
            try:
                activity = self.registry.activity(item.name)
            except UnknownFunctionError as exc:
                body = event(
                    EventType.TASK_FAILED,
                    self.clock.now(),
                    TaskScheduledId=item.task_id,
                    Reason=str(exc),
                    Details=None,
                )
            else:
                outcome = run_activity(activity, item.input_json)
                if outcome.failed:
                    body = event(
                        EventType.TASK_FAILED,
                        self.clock.now(),
                        TaskScheduledId=item.task_id,
                        Reason=outcome.reason,
                        Details=outcome.details,
                    )
                else:
                    body = event(
                        EventType.TASK_COMPLETED,
                        self.clock.now(),
                        TaskScheduledId=item.task_id,
                        Result=outcome.result_json,
                    )
            message = NewMessage(item.instance_id, "event", body, execution_id=item.execution_id)
            with self._lock:
                if not self._closed:
                    self._store.finish_activity(item, message)
                    self.stats.activities_run += 1
        except Exception:
            log.exception("activity %s of instance %s could not be recorded", item.name, item.instance_id)
        finally:
            with self._lock:
                self._in_flight -= 1
                self._running.pop(item.id, None)
                self._wake.notify_all()

    # ---- turns -------------------------------------------------------------------------------------

    def _require(self, instance_id: str) -> dict[str, Any]:
        row = self._store.get_instance(instance_id)
        if row is None:
            raise InstanceNotFoundError(f"no orchestration instance with id {instance_id!r}")
        return row

    def _require_exists(self, instance_id: str) -> None:
        with self._lock:
            self._require(instance_id)

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

    def _create_instance(
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

    def _turn(self, instance_id: str) -> None:
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
        self._create_instance(
            db, child_id, work.name, work.input_json, parent=(instance_id, execution_id, work.task_id)
        )
        return created

    def _sub_orchestration_problem(self, child_id: str, name: str) -> str | None:
        try:
            validate_instance_id(child_id)
            self.registry.orchestrator(name)
        except (InvalidInstanceIdError, UnknownFunctionError) as exc:
            return str(exc)
        existing = self._store.get_instance(child_id)
        if existing is not None and existing["runtime_status"] in _ACTIVE:
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


def _status_of(row: dict[str, Any]) -> InstanceStatus:
    failure = row.get("failure")
    return InstanceStatus(
        instance_id=row["instance_id"],
        name=row["name"],
        runtime_status=RuntimeStatus(row["runtime_status"]),
        input=_from_json(row["input"]),
        output=_from_json(row["output"]),
        custom_status=_from_json(row["custom_status"]),
        created_at=parse_time(row["created_at"]),
        last_updated_at=parse_time(row["last_updated_at"]),
        failure=FailureDetails.model_validate_json(failure) if failure else None,
        parent_instance_id=row["parent_instance_id"],
        generation=int(row["generation"] or 0),
    )
