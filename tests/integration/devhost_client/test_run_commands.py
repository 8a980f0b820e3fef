from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from devhost.cli import main
from devhost.connections import DevhostConnections, write_connections
from devhost.functions_host import FunctionsHost, FunctionsHttpServer
from devhost.functions_host.http_server import free_port
from tests.fakes import runs_api_app

pytestmark = pytest.mark.integration

NOT_RUNNING = "the devhost is not running: start it with `python -m devhost up`"


def connections_for(http: str) -> DevhostConnections:
    return DevhostConnections(
        storage=SecretStr("UseDevelopmentStorage=true"),
        servicebus=SecretStr("Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=k;SharedAccessKey=test;"),
        http=http,
    )


@pytest.fixture(scope="module")
def api_url() -> Iterator[str]:
    functions = FunctionsHost(runs_api_app.app)
    server = FunctionsHttpServer(functions, port=0)
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def data_dir(tmp_path: Path, api_url: str) -> Path:
    write_connections(connections_for(api_url), tmp_path / "connections.json")
    runs_api_app.commands_received.clear()
    return tmp_path


def test_status_lists_runs_in_a_table(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "ft-xbox-0123456789ab" in out
    assert "ft-bad-ba5eba11ba5e" in out
    assert "rejected" in out
    assert "[loss 0.41]" in out  # brackets in a detail are text, not markup


def test_status_filters_and_json(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--data-dir", str(data_dir), "--state", "rejected", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert [run["runId"] for run in payload["runs"]] == ["ft-bad-ba5eba11ba5e"]


def test_status_of_one_run_shows_stages_and_reports(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "ft-xbox-0123456789ab", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "training" in out
    assert "validating" in out
    assert "90.0 s" in out
    assert "120 examples" in out
    assert "report.html" in out
    assert main(["status", "ft-xbox-0123456789ab", "--json", "--data-dir", str(data_dir)]) == 0
    assert json.loads(capsys.readouterr().out)["stage"] == "training"


def test_status_of_an_unknown_run_is_exit_1_and_a_malformed_id_exit_2(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "ft-nope-000000000000", "--data-dir", str(data_dir)]) == 1
    assert "no run with id 'ft-nope-000000000000'" in capsys.readouterr().err
    assert main(["status", "not/a run", "--data-dir", str(data_dir)]) == 2
    assert "is not a run id" in capsys.readouterr().err


def test_cancel_sends_the_command_with_its_reason(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["cancel", "ft-xbox-0123456789ab", "--reason", "wrong data", "--data-dir", str(data_dir)])
    assert code == 0
    assert "cancel requested for ft-xbox-0123456789ab" in capsys.readouterr().out
    assert runs_api_app.commands_received == [
        {"runId": "ft-xbox-0123456789ab", "command": "cancel", "body": {"reason": "wrong data"}}
    ]


@pytest.mark.parametrize("command", ["approve", "reject", "retry"])
def test_every_command_reaches_its_route(data_dir: Path, command: str) -> None:
    main([command, "ft-xbox-0123456789ab", "--data-dir", str(data_dir)])
    assert runs_api_app.commands_received[-1]["command"] == command


def test_a_refused_command_is_exit_1_with_the_reason(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["approve", "ft-bad-ba5eba11ba5e", "--data-dir", str(data_dir)]) == 1
    assert "has already ended" in capsys.readouterr().err
    assert main(["cancel", "ft-nope-000000000000", "--data-dir", str(data_dir)]) == 1


def test_without_a_devhost_every_client_command_says_how_to_start_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nothing-here"
    assert main(["status", "--data-dir", str(missing)]) == 1
    assert NOT_RUNNING in capsys.readouterr().err

    stale = tmp_path / "stale"
    write_connections(connections_for(f"http://127.0.0.1:{free_port()}"), stale / "connections.json")
    for argv in (["status"], ["cancel", "ft-x-000000000000"], ["status", "ft-x-000000000000"]):
        assert main([*argv, "--data-dir", str(stale)]) == 1
        assert NOT_RUNNING in capsys.readouterr().err


def test_usage_errors_are_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["cancel"])
    assert info.value.code == 2
    assert "run" in capsys.readouterr().err
