"""The durable engine: runs an app's orchestrations and activities through the real Durable SDK.

An orchestrator turn is a replay of the instance's history through the SDK; what the SDK asks for
(activities, timers, sub-orchestrations) becomes work in the SQLite store in the same transaction as the
history it extends. Activities run on a thread pool under leases (at least once); completions, timers and
external events are messages in an inbox that the next turn turns into history.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from azure.functions import FunctionRegister

from devhost.engine.clock import Clock, RealClock
from devhost.engine.discovery import Registry, discover
from devhost.engine.errors import (
    EngineStuckError,
    EngineTimeoutError,
    InstanceAlreadyRunningError,
    InstanceGoneError,
    InstanceNotFoundError,
    InstanceStillRunningError,
    UnknownFunctionError,
)
from devhost.engine.history import Event, EventType, event, format_time, parse_time
from devhost.engine.models import FailureDetails, InstanceStatus, RuntimeStatus
from devhost.engine.store import ActivityItem, NewMessage, Store
from devhost.engine.turns import (
    ACTIVE_STATUSES,
    MAX_INSTANCE_ID_LENGTH,
    EngineStats,
    TurnProcessor,
    validate_instance_id,
)
from devhost.engine.worker import run_activity

if TYPE_CHECKING:
    from devhost.engine.client import FunctionInvoker

log = logging.getLogger(__name__)
T = TypeVar("T")

STOP_GRACE_SECONDS = 5.0
__all__ = ["MAX_INSTANCE_ID_LENGTH", "Engine", "EngineStats", "validate_instance_id"]


def _to_json(value: Any, what: str) -> str | None:
    if value is None:
        return None
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be JSON-serialisable: {exc}") from None


def _from_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


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
        self._turns = TurnProcessor(
            store=self._store,
            registry=self.registry,
            clock=self.clock,
            stats=self.stats,
            lock=self._lock,
            wake=self._wake,
        )
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
            if existing is not None and existing["runtime_status"] in ACTIVE_STATUSES:
                raise InstanceAlreadyRunningError(
                    f"an orchestration instance with id {instance_id!r} is already {existing['runtime_status']}; "
                    "wait for it to finish or terminate it first"
                )
            with self._store.transaction() as db:
                self._turns.create_instance(db, instance_id, orchestrator_name, input_json, parent=None)
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
            self._turns.forget(instance_id)
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
            return [{**ev, "IsPlayed": True} for ev in self._turns.history_of(instance_id)]

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
            self._turns.fail_by_engine(instance_id, exc)
        return True

    def _turn(self, instance_id: str) -> None:
        self._turns.run(instance_id)

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

    # ---- lookups -----------------------------------------------------------------------------------

    def _require(self, instance_id: str) -> dict[str, Any]:
        row = self._store.get_instance(instance_id)
        if row is None:
            raise InstanceNotFoundError(f"no orchestration instance with id {instance_id!r}")
        return row

    def _require_exists(self, instance_id: str) -> None:
        with self._lock:
            self._require(instance_id)


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
