"""A second engine on the same store file carries on where the first stopped."""

from __future__ import annotations

from pathlib import Path

import pytest

from devhost.engine import RuntimeStatus
from tests.fixtures import engine_app
from tests.fixtures.engine import EngineFactory
from tests.fixtures.engine_app import app


def test_a_waiting_instance_resumes_in_a_new_engine_on_the_same_store(
    make_engine: EngineFactory, tmp_path: Path
) -> None:
    store = tmp_path / "engine.sqlite"
    first = make_engine(app, store_path=store)
    instance_id = first.start_new("two_events", instance_id="survivor")
    first.raise_event(instance_id, "first", 1)
    first.run_until_idle()
    first.stop()

    second = make_engine(app, store_path=store)
    assert second.get_status(instance_id).runtime_status == RuntimeStatus.RUNNING  # type: ignore[union-attr]
    second.raise_event(instance_id, "second", 2)
    assert second.run_until_complete(instance_id).output == [1, 2]


@pytest.fixture
def changed_code() -> object:
    yield
    engine_app.MODE["changed"] = False


@pytest.mark.usefixtures("changed_code")
def test_code_changed_between_engine_runs_is_detected_from_the_stored_actions(
    make_engine: EngineFactory, tmp_path: Path
) -> None:
    store = tmp_path / "engine.sqlite"
    first = make_engine(app, store_path=store)
    instance_id = first.start_new("changing")
    first.run_until_idle()
    first.stop()

    engine_app.MODE["changed"] = True  # the app was redeployed with a different orchestrator
    second = make_engine(app, store_path=store)
    second.raise_event(instance_id, "go")
    status = second.run_until_complete(instance_id)
    assert status.runtime_status == RuntimeStatus.FAILED
    assert status.failure is not None
    assert status.failure.kind == "nondeterminism"
    assert "position 0" in status.failure.message
