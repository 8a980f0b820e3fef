"""`python -m devhost instance`: a failed instance's exception and traceback, shown from the management API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from devhost.cli import main
from devhost.connections import DevhostConnections, connections_path, write_connections
from devhost.engine import Engine
from tests.fixtures.engine import EngineFactory
from tests.fixtures.engine_app import app

pytestmark = pytest.mark.integration


@pytest.fixture
def data_dir(make_engine: EngineFactory, tmp_path: Path) -> tuple[Path, Engine]:
    engine = make_engine(app)
    engine.start()
    connections = DevhostConnections.model_validate(
        {
            "storage": SecretStr("UseDevelopmentStorage=true"),
            "servicebus": SecretStr("Endpoint=sb://127.0.0.1:1"),
            "http": "http://127.0.0.1:1",
            "management": engine.management_url,
        }
    )
    write_connections(connections, connections_path(tmp_path))
    return tmp_path, engine


def test_a_failed_instance_shows_its_exception_traceback_and_history(
    data_dir: tuple[Path, Engine], capsys: pytest.CaptureFixture[str]
) -> None:
    directory, engine = data_dir
    instance_id = engine.start_new("orchestrator_raises", instance_id="shown")
    engine.run_until_complete(instance_id)
    assert main(["instance", "shown", "--history", "--data-dir", str(directory)]) == 0
    out = capsys.readouterr().out
    assert "shown  orchestrator_raises  Failed" in out
    assert "failed (orchestrator): KeyError: 'missing-key-in-orchestrator'" in out
    assert "Traceback (most recent call last)" in out
    assert "TaskCompleted" in out

    assert main(["instance", "shown", "--json", "--data-dir", str(directory)]) == 0
    assert json.loads(capsys.readouterr().out)["runtimeStatus"] == "Failed"


def test_unknown_instance_and_missing_devhost_exit_1(
    data_dir: tuple[Path, Engine], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory, _ = data_dir
    assert main(["instance", "nobody", "--data-dir", str(directory)]) == 1
    assert "no orchestration instance with id 'nobody'" in capsys.readouterr().err
    assert main(["instance", "nobody", "--data-dir", str(tmp_path / "elsewhere")]) == 1
    assert "the devhost is not running here" in capsys.readouterr().err
