"""Every failure path, shown to a person: activity errors, exhausted retries, orchestrator exceptions,
non-determinism, unserialisable activity results."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devhost.engine import RuntimeStatus
from devhost.engine.history import EventType
from tests.fixtures import engine_app
from tests.fixtures.engine import EngineFactory
from tests.fixtures.engine_app import app


def test_unhandled_activity_failure_fails_the_instance_with_its_message_and_traceback(
    make_engine: EngineFactory,
) -> None:
    engine = make_engine(app)
    status = engine.run_until_complete(engine.start_new("unhandled_activity_failure"))
    assert status.runtime_status == RuntimeStatus.FAILED
    assert status.failure is not None
    assert "Activity function 'fail_always' failed: ValueError: boom u" in status.failure.message
    assert "raise ValueError" in status.failure.message  # the activity's traceback travels with it
    failed = [ev for ev in engine.get_history(status.instance_id) if ev["EventType"] == EventType.TASK_FAILED]
    assert len(failed) == 1
    assert "ValueError: boom u" in failed[0]["Reason"]
    assert "Traceback" in failed[0]["Details"]


def test_orchestrator_exception_is_unwrapped_from_the_sdk_wrapper(make_engine: EngineFactory) -> None:
    engine = make_engine(app)
    status = engine.run_until_complete(engine.start_new("orchestrator_raises"))
    assert status.runtime_status == RuntimeStatus.FAILED
    assert status.failure is not None
    assert status.failure.kind == "orchestrator"
    assert status.failure.error_type == "KeyError"
    assert "missing-key-in-orchestrator" in status.failure.message
    assert "$OutOfProcData$" not in status.failure.message
    assert "orchestrator_raises" in (status.failure.stack_trace or "")
    assert "missing-key-in-orchestrator" in status.output


def test_pydantic_model_returned_by_an_activity_is_rejected_with_advice(make_engine: EngineFactory) -> None:
    engine = make_engine(app)
    status = engine.run_until_complete(engine.start_new("model_returner"))
    assert status.runtime_status == RuntimeStatus.FAILED
    assert status.failure is not None
    assert "returned a Money (a pydantic model)" in status.failure.message
    assert "model_dump(mode='json')" in status.failure.message


@pytest.fixture
def changed_code() -> Iterator[None]:
    yield
    engine_app.MODE["changed"] = False


@pytest.mark.usefixtures("changed_code")
def test_changed_orchestrator_code_fails_with_the_position_and_both_actions(make_engine: EngineFactory) -> None:
    engine = make_engine(app)
    instance_id = engine.start_new("changing")
    engine.run_until_idle()
    assert engine.get_status(instance_id).runtime_status == RuntimeStatus.RUNNING  # type: ignore[union-attr]
    engine_app.MODE["changed"] = True  # a deployment changed the orchestrator while the instance waited
    engine.raise_event(instance_id, "go")
    status = engine.run_until_complete(instance_id)
    assert status.runtime_status == RuntimeStatus.FAILED
    assert status.failure is not None
    assert status.failure.kind == "nondeterminism"
    assert status.failure.message == (
        "non-deterministic orchestrator: at action position 0 the history recorded CALL_ACTIVITY 'echo' "
        "but the code now yields CALL_ACTIVITY 'echo_async'"
    )


def test_unchanged_code_replays_without_a_determinism_failure(make_engine: EngineFactory) -> None:
    engine = make_engine(app)
    instance_id = engine.start_new("changing")
    engine.run_until_idle()
    engine.raise_event(instance_id, "go")
    assert engine.run_until_complete(instance_id).output == "finished"


def test_activity_that_does_not_exist_fails_the_call(make_engine: EngineFactory) -> None:
    engine = make_engine(app)
    status = engine.run_until_complete(engine.start_new("calls_missing"))
    assert status.runtime_status == RuntimeStatus.FAILED
    assert "no activity function named 'no_such_activity'" in status.failure.message  # type: ignore[union-attr]


def test_unserialisable_custom_status_fails_the_instance_clearly(make_engine: EngineFactory) -> None:
    engine = make_engine(app)
    status = engine.run_until_complete(engine.start_new("bad_custom_status"))
    assert status.runtime_status == RuntimeStatus.FAILED
    assert status.failure is not None
    assert status.failure.error_type == "TypeError"
    assert "does not expose a `to_json` function" in status.failure.message  # the SDK's own words


def test_an_engine_fault_in_one_instance_fails_it_and_the_others_go_on(
    make_engine: EngineFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(app)
    broken = engine.start_new("sequence", instance_id="broken", input=1)
    healthy = engine.start_new("sequence", instance_id="healthy", input=1)
    real_turn = engine._turn

    def turn(instance_id: str) -> None:
        if instance_id == broken:
            raise RuntimeError("disk on fire")
        real_turn(instance_id)

    monkeypatch.setattr(engine, "_turn", turn)
    engine.run_until_idle()
    failed = engine.get_status(broken)
    assert failed is not None
    assert failed.runtime_status == RuntimeStatus.FAILED
    assert failed.failure is not None
    assert failed.failure.kind == "engine"
    assert "disk on fire" in failed.failure.message
    assert engine.get_status(healthy).runtime_status == RuntimeStatus.COMPLETED  # type: ignore[union-attr]
