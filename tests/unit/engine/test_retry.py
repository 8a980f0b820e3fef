"""call_activity_with_retry and call_sub_orchestrator_with_retry record exactly the host's history."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from devhost.engine import RuntimeStatus
from devhost.engine.history import EventType, parse_time
from tests.fixtures.engine import EngineFactory
from tests.fixtures.engine_app import app


def _shape(history: list[dict[str, object]]) -> list[tuple[str, int]]:
    """(event type, task id) of the scheduling and completion events."""
    shown = []
    for ev in history:
        kind = EventType(ev["EventType"])
        if kind in (EventType.TASK_SCHEDULED, EventType.TIMER_CREATED, EventType.SUB_ORCHESTRATION_CREATED):
            shown.append((kind.name, int(ev["EventId"])))  # type: ignore[call-overload]
        elif kind in (
            EventType.TASK_COMPLETED,
            EventType.TASK_FAILED,
            EventType.SUB_ORCHESTRATION_COMPLETED,
            EventType.SUB_ORCHESTRATION_FAILED,
        ):
            shown.append((kind.name, int(ev["TaskScheduledId"])))  # type: ignore[call-overload]
        elif kind == EventType.TIMER_FIRED:
            shown.append((kind.name, int(ev["TimerId"])))  # type: ignore[call-overload]
    return shown


def test_retry_succeeds_on_the_third_attempt_with_back_off_timers_between(make_engine: EngineFactory) -> None:
    engine = make_engine(app)
    key = uuid.uuid4().hex
    status = engine.run_until_complete(engine.start_new("retrying", input={"key": key, "failures": 2}))
    assert status.output == "ok after 3 attempts"
    history = engine.get_history(status.instance_id)
    assert _shape(history) == [
        ("TASK_SCHEDULED", 0),
        ("TASK_FAILED", 0),
        ("TIMER_CREATED", 1),
        ("TIMER_FIRED", 1),
        ("TASK_SCHEDULED", 2),
        ("TASK_FAILED", 2),
        ("TIMER_CREATED", 3),
        ("TIMER_FIRED", 3),
        ("TASK_SCHEDULED", 4),
        ("TASK_COMPLETED", 4),
    ]
    timer = next(ev for ev in history if ev["EventType"] == EventType.TIMER_CREATED)
    assert parse_time(timer["FireAt"]) - parse_time(timer["Timestamp"]) == timedelta(seconds=5)


def test_exhausted_retry_fires_one_more_timer_before_the_orchestrator_sees_the_error(
    make_engine: EngineFactory,
) -> None:
    engine = make_engine(app)
    status = engine.run_until_complete(engine.start_new("retry_exhausted"))
    assert status.runtime_status == RuntimeStatus.COMPLETED
    assert status.output.startswith("gave up: Activity function 'fail_always' failed: ValueError: boom r")
    assert _shape(engine.get_history(status.instance_id)) == [
        ("TASK_SCHEDULED", 0),
        ("TASK_FAILED", 0),
        ("TIMER_CREATED", 1),
        ("TIMER_FIRED", 1),
        ("TASK_SCHEDULED", 2),
        ("TASK_FAILED", 2),
        ("TIMER_CREATED", 3),
        ("TIMER_FIRED", 3),
        ("TASK_SCHEDULED", 4),
        ("TASK_FAILED", 4),
        ("TIMER_CREATED", 5),
        ("TIMER_FIRED", 5),
    ]


def test_retry_beside_other_tasks_takes_the_sdks_sequence_numbers(make_engine: EngineFactory) -> None:
    engine = make_engine(app)
    key = uuid.uuid4().hex
    status = engine.run_until_complete(engine.start_new("retry_then_more", input={"key": key, "failures": 1}))
    assert status.output == ["ok after 2 attempts", "side", "after"]
    shape = _shape(engine.get_history(status.instance_id))
    assert shape[:2] == [("TASK_SCHEDULED", 0), ("TASK_SCHEDULED", 1)]
    assert ("TIMER_CREATED", 2) in shape
    assert ("TASK_SCHEDULED", 3) in shape
    assert shape[-2:] == [("TASK_SCHEDULED", 4), ("TASK_COMPLETED", 4)]


def test_sub_orchestration_retry_restarts_the_child_under_its_explicit_id(make_engine: EngineFactory) -> None:
    engine = make_engine(app)
    status = engine.run_until_complete(engine.start_new("parent_retry"))
    assert status.output.startswith("failed after retries: Sub-orchestration 'child' (retried-child) failed")
    shape = _shape(engine.get_history(status.instance_id))
    assert [kind for kind, _ in shape].count("SUB_ORCHESTRATION_CREATED") == 3
    assert [kind for kind, _ in shape].count("SUB_ORCHESTRATION_FAILED") == 3
    child = engine.get_status("retried-child")
    assert child is not None
    assert child.runtime_status == RuntimeStatus.FAILED


@pytest.mark.parametrize("attempts", [1, 2, 3])
@pytest.mark.parametrize("failures", [0, 1, 2, 3])
def test_every_retry_policy_outcome_matches_the_hosts_history(
    make_engine: EngineFactory, failures: int, attempts: int
) -> None:
    engine = make_engine(app)
    request = {"key": uuid.uuid4().hex, "failures": failures, "attempts": attempts}
    status = engine.run_until_complete(engine.start_new("retry_policy", input=request))
    shape = _shape(engine.get_history(status.instance_id))
    kinds = [kind for kind, _ in shape]
    succeeded = failures < attempts
    runs = failures + 1 if succeeded else attempts
    assert kinds.count("TASK_SCHEDULED") == runs
    assert kinds.count("TASK_FAILED") == (failures if succeeded else attempts)
    assert kinds.count("TIMER_FIRED") == (failures if succeeded else attempts)  # one more after the last failure
    assert [task_id for _, task_id in shape] == sorted(task_id for _, task_id in shape)  # ids only grow
    if succeeded:
        assert status.output == f"ok after {failures + 1} attempts"
    else:
        assert status.output.startswith(
            f"error: Activity function 'flaky' failed: RuntimeError: transient failure {attempts}"
        )


def test_retries_continue_while_the_orchestrator_moves_on_after_a_race(make_engine: EngineFactory) -> None:
    engine = make_engine(app, activity_workers=2)
    request = {"key": uuid.uuid4().hex, "failures": 2}
    status = engine.run_until_complete(engine.start_new("retry_race", input=request))
    assert status.output == ["b", "c", "ok after 3 attempts"]
    shape = _shape(engine.get_history(status.instance_id))
    scheduled = [task_id for kind, task_id in shape if kind in ("TASK_SCHEDULED", "TIMER_CREATED")]
    assert sorted(scheduled) == list(range(len(scheduled)))  # every SDK sequence id used exactly once
