"""Every orchestration primitive, run through the real SDK by the engine on a virtual clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from devhost.engine import (
    EngineStuckError,
    InstanceAlreadyRunningError,
    InvalidInstanceIdError,
    RuntimeStatus,
    UnknownFunctionError,
)
from devhost.engine.history import EventType
from tests.fixtures.engine import EngineFactory
from tests.fixtures.engine_app import app


def test_sequence_of_sync_and_async_activities_completes_with_their_results(make_engine: EngineFactory) -> None:
    engine = make_engine(app)
    instance_id = engine.start_new("sequence", input=3)
    status = engine.run_until_complete(instance_id)
    assert status.runtime_status == RuntimeStatus.COMPLETED
    assert status.output == [0, 1, 2, {"async": "x"}]
    assert status.custom_status == {"done": 4}
    assert status.input == 3
    kinds = [ev["EventType"] for ev in engine.get_history(instance_id)]
    assert kinds[:2] == [EventType.ORCHESTRATOR_STARTED, EventType.EXECUTION_STARTED]
    assert kinds.count(EventType.TASK_SCHEDULED) == 4
    assert kinds.count(EventType.TASK_COMPLETED) == 4
    assert kinds[-1] == EventType.EXECUTION_COMPLETED


def test_fan_out_with_task_all_schedules_every_activity_in_one_turn(make_engine: EngineFactory) -> None:
    engine = make_engine(app, activity_workers=3)
    instance_id = engine.start_new("fan_out", input=10)
    assert engine.run_until_complete(instance_id).output == sum(range(10))
    history = engine.get_history(instance_id)
    scheduled = [ev["EventId"] for ev in history if ev["EventType"] == EventType.TASK_SCHEDULED]
    assert scheduled == list(range(10))


def test_status_is_pending_before_the_first_turn(make_engine: EngineFactory) -> None:
    engine = make_engine(app)
    instance_id = engine.start_new("sequence", instance_id="pending-one", input=1)
    status = engine.get_status(instance_id)
    assert status is not None
    assert status.runtime_status == RuntimeStatus.PENDING
    assert engine.get_status("no-such-instance") is None


def test_starting_a_running_instance_id_is_refused_but_a_finished_one_restarts(make_engine: EngineFactory) -> None:
    engine = make_engine(app)
    engine.start_new("two_events", instance_id="same")
    with pytest.raises(InstanceAlreadyRunningError, match="same"):
        engine.start_new("two_events", instance_id="same")
    engine.start_new("sequence", instance_id="done-once", input=1)
    engine.run_until_complete("done-once")
    engine.start_new("sequence", instance_id="done-once", input=2)
    assert engine.run_until_complete("done-once").output == [0, 1, {"async": "x"}]


def test_bad_ids_and_names_are_refused_with_clear_errors(make_engine: EngineFactory) -> None:
    engine = make_engine(app)
    with pytest.raises(InvalidInstanceIdError, match="contains"):
        engine.start_new("sequence", instance_id="a/b")
    with pytest.raises(UnknownFunctionError, match="no orchestrator function named 'nope'"):
        engine.start_new("nope")
    with pytest.raises(ValueError, match="JSON-serialisable"):
        engine.start_new("sequence", input={1, 2})


def test_a_48_hour_wait_is_skipped_by_the_virtual_clock(make_engine: EngineFactory) -> None:
    engine = make_engine(app)
    before = engine.clock.now()
    instance_id = engine.start_new("approval")
    status = engine.run_until_complete(instance_id)
    assert status.output == {"decision": "timed out"}
    assert engine.clock.now() - before >= timedelta(hours=72)


def test_external_event_wins_the_race_and_the_cancelled_timer_never_fires(make_engine: EngineFactory) -> None:
    engine = make_engine(app)
    before = engine.clock.now()
    instance_id = engine.start_new("approval")
    engine.run_until_idle(advance_clock=False)
    assert engine.get_status(instance_id).runtime_status == RuntimeStatus.RUNNING  # type: ignore[union-attr]
    engine.raise_event(instance_id, "decision", {"approved": True})
    status = engine.run_until_complete(instance_id)
    assert status.output == {"decision": {"approved": True}}
    engine.run_until_idle()
    assert engine.clock.now() - before < timedelta(hours=1)
    kinds = [ev["EventType"] for ev in engine.get_history(instance_id)]
    assert EventType.TIMER_FIRED not in kinds


def test_events_raised_before_the_orchestrator_waits_are_buffered(make_engine: EngineFactory) -> None:
    engine = make_engine(app)
    instance_id = engine.start_new("two_events")
    engine.raise_event(instance_id, "second", 2)
    engine.raise_event(instance_id, "first", 1)
    assert engine.run_until_complete(instance_id).output == [1, 2]


def test_new_uuid_and_current_time_are_replay_safe(make_engine: EngineFactory) -> None:
    engine = make_engine(app)
    start = engine.clock.now()
    instance_id = engine.start_new("replay_safe")
    status = engine.run_until_complete(instance_id)
    assert status.output["uuid"] == status.custom_status["uuid"]
    assert status.output["started"] == start.isoformat()
    assert status.output["now"] > status.output["started"]


def test_continue_as_new_starts_fresh_generations_until_done(make_engine: EngineFactory) -> None:
    engine = make_engine(app)
    instance_id = engine.start_new("counter", input={"n": 0, "until": 4})
    status = engine.run_until_complete(instance_id)
    assert status.output == {"n": 4, "until": 4}
    assert status.generation == 4
    history = engine.get_history(instance_id)
    assert [ev["EventType"] for ev in history[:2]] == [EventType.ORCHESTRATOR_STARTED, EventType.EXECUTION_STARTED]
    assert EventType.TASK_SCHEDULED not in [ev["EventType"] for ev in history]


def test_continue_as_new_inside_a_sub_orchestration(make_engine: EngineFactory) -> None:
    engine = make_engine(app)
    instance_id = engine.start_new("parent_of_counter")
    assert engine.run_until_complete(instance_id).output == {"n": 3, "until": 3}


def test_events_pending_when_a_generation_continues_as_new_reach_the_next_one(make_engine: EngineFactory) -> None:
    engine = make_engine(app)
    instance_id = engine.start_new("counter", input={"n": 0, "until": 2, "listen": True})
    engine.raise_event(instance_id, "tick", "a")
    engine.run_until_idle(advance_clock=False)  # generation 0 took "a" and waits on its 5-minute timer
    engine.clock.advance_to(engine.clock.now() + timedelta(minutes=10))
    engine.raise_event(instance_id, "tick", "b")  # arrives in the same turn as the timer that continues as new
    engine.run_until_idle()
    status = engine.get_status(instance_id)
    assert status is not None
    assert status.runtime_status == RuntimeStatus.COMPLETED
    assert status.output["events"] == ["a", "b"]


def test_sub_orchestrations_with_generated_and_explicit_ids(make_engine: EngineFactory) -> None:
    engine = make_engine(app)
    instance_id = engine.start_new("parent", instance_id="p1")
    status = engine.run_until_complete(instance_id)
    assert status.runtime_status == RuntimeStatus.COMPLETED
    assert status.output["auto"] == {"child": "p1:0", "value": 2}
    assert status.output["named"] == {"child": "p1-named", "value": 4}
    assert [c["value"] for c in status.output["both"]] == [6, 8]
    assert "child failed on purpose" in status.output["failed"]
    child = engine.get_status("p1-named")
    assert child is not None
    assert child.parent_instance_id == "p1"
    assert child.runtime_status == RuntimeStatus.COMPLETED


def test_terminate_stops_a_waiting_instance(make_engine: EngineFactory) -> None:
    engine = make_engine(app)
    instance_id = engine.start_new("two_events")
    engine.run_until_idle()
    assert engine.get_status(instance_id).runtime_status == RuntimeStatus.RUNNING  # type: ignore[union-attr]
    engine.terminate(instance_id, "no longer needed")
    engine.run_until_idle()
    status = engine.get_status(instance_id)
    assert status is not None
    assert status.runtime_status == RuntimeStatus.TERMINATED
    assert status.output == "no longer needed"


def test_query_filters_by_status_prefix_and_creation_time(make_engine: EngineFactory) -> None:
    engine = make_engine(app)
    engine.start_new("sequence", instance_id="run-a", input=1)
    engine.start_new("two_events", instance_id="run-b")
    engine.start_new("sequence", instance_id="other-c", input=1)
    engine.run_until_idle()
    completed = engine.query(runtime_status=[RuntimeStatus.COMPLETED])
    assert [s.instance_id for s in completed] == ["other-c", "run-a"]
    assert [s.instance_id for s in engine.query(prefix="run-")] == ["run-a", "run-b"]
    later = engine.clock.now() + timedelta(seconds=1)
    assert engine.query(created_from=later) == []
    assert len(engine.query(created_to=later)) == 3


def test_terminating_a_sub_orchestration_fails_the_parents_task(make_engine: EngineFactory) -> None:
    engine = make_engine(app)
    parent_id = engine.start_new("parent_of_waiter")
    engine.run_until_idle()
    assert engine.get_status("waiting-child").runtime_status == RuntimeStatus.RUNNING  # type: ignore[union-attr]
    engine.terminate("waiting-child", "operator said so")
    status = engine.run_until_complete(parent_id)
    assert status.output.startswith("child ended: Sub-orchestration 'two_events' (waiting-child) was terminated")
    assert "operator said so" in status.output


def test_a_terminated_pending_instance_never_runs(make_engine: EngineFactory) -> None:
    engine = make_engine(app)
    instance_id = engine.start_new("sequence", input=2)
    engine.terminate(instance_id, "changed my mind")
    status = engine.run_until_complete(instance_id)
    assert status.runtime_status == RuntimeStatus.TERMINATED
    kinds = [ev["EventType"] for ev in engine.get_history(instance_id)]
    assert kinds == [EventType.EXECUTION_TERMINATED]


def test_run_until_stops_where_the_orchestrator_waits_before_its_deadline_fires(make_engine: EngineFactory) -> None:
    engine = make_engine(app)
    instance_id = engine.start_new("sequence", input=3)
    status = engine.run_until(instance_id, lambda s: s.custom_status is not None)
    assert status.custom_status == {"done": 4}
    approval_id = engine.start_new("approval")
    waiting = engine.run_until(approval_id, lambda s: s.runtime_status == RuntimeStatus.RUNNING)
    assert waiting.runtime_status == RuntimeStatus.RUNNING
    engine.raise_event(approval_id, "decision", "yes")
    assert engine.run_until_complete(approval_id).output == {"decision": "yes"}


def test_run_until_a_state_that_never_comes_says_so(make_engine: EngineFactory) -> None:
    engine = make_engine(app)
    instance_id = engine.start_new("two_events")
    with pytest.raises(EngineStuckError, match="nothing is left to run"):
        engine.run_until(instance_id, lambda s: s.output == "never")
