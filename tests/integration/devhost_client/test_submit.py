from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from devhost.azurite import AzuriteServer
from devhost.cli import main
from devhost.connections import DevhostConnections, write_connections
from devhost.functions_host import FunctionsHost, FunctionsHttpServer
from shared.names import TRAINING_CONTAINER
from shared.runs import run_id_for
from shared.storage import AzureBlobStore
from tests.fakes import runs_api_app

pytestmark = pytest.mark.integration

LINE = b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n'


@pytest.fixture(scope="module")
def api_url() -> Iterator[str]:
    server = FunctionsHttpServer(FunctionsHost(runs_api_app.app), port=0)
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def data_dir(tmp_path: Path, api_url: str, azurite: AzuriteServer, azurite_blob_store: AzureBlobStore) -> Path:
    azurite_blob_store.ensure_container(TRAINING_CONTAINER)
    connections = DevhostConnections(
        storage=SecretStr(azurite.connection_string),
        servicebus=SecretStr("Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=k;SharedAccessKey=test;"),
        http=api_url,
    )
    write_connections(connections, tmp_path / "devhost" / "connections.json")
    return tmp_path / "devhost"


@pytest.fixture
def training_file(tmp_path: Path) -> Path:
    path = tmp_path / "Xbox Support.jsonl"
    path.write_bytes(LINE * 12)
    return path


def test_submit_uploads_with_options_as_metadata_and_prints_the_run_id(
    data_dir: Path, training_file: Path, azurite_blob_store: AzureBlobStore, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["submit", str(training_file), "--set", "epochs=2", "--set", "ft_require_approval=true"]
    assert main([*argv, "--family", "xbox", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    info = azurite_blob_store.get_info(TRAINING_CONTAINER, "Xbox Support.jsonl")
    assert info.metadata == {"ft_epochs": "2", "ft_require_approval": "true", "ft_family": "xbox"}
    data, _ = azurite_blob_store.read_bytes(TRAINING_CONTAINER, "Xbox Support.jsonl")
    assert data == LINE * 12
    run_id = run_id_for(TRAINING_CONTAINER, "Xbox Support.jsonl", info.etag)
    assert f"run id: {run_id}" in out
    assert f"python -m devhost status {run_id}" in out


def test_submit_under_another_name_gives_a_new_run_id_per_upload(
    data_dir: Path, training_file: Path, azurite_blob_store: AzureBlobStore, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["submit", str(training_file), "--name", "team/a.jsonl", "--data-dir", str(data_dir)]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert main(argv) == 0
    second = capsys.readouterr().out
    info = azurite_blob_store.get_info(TRAINING_CONTAINER, "team/a.jsonl")
    assert f"run id: {run_id_for(TRAINING_CONTAINER, 'team/a.jsonl', info.etag)}" in second
    assert first.splitlines()[1] != second.splitlines()[1]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--set", "epochs"], "expected OPTION=VALUE"),
        (["--set", "colour=blue"], "unknown option(s) colour"),
        (["--set", "epochs=0"], "epochs"),
        (["--family", "Not A Family!"], "family"),
        (["--name", "notes.txt"], "only .jsonl files start runs"),
        (["--name", "../escape.jsonl"], "not a plain relative path"),
    ],
)
def test_bad_options_are_usage_errors_and_upload_nothing(  # noqa: PLR0917 (fixtures and parameters)
    data_dir: Path,
    training_file: Path,
    azurite_blob_store: AzureBlobStore,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    before = {b.name for b in azurite_blob_store.list_blobs(TRAINING_CONTAINER)}
    assert main(["submit", str(training_file), *extra, "--data-dir", str(data_dir)]) == 2
    assert message in capsys.readouterr().err
    assert {b.name for b in azurite_blob_store.list_blobs(TRAINING_CONTAINER)} == before


def test_a_missing_file_is_a_usage_error(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["submit", str(tmp_path / "nope.jsonl"), "--data-dir", str(data_dir)]) == 2
    assert "no such file" in capsys.readouterr().err


def test_submit_without_a_devhost_says_how_to_start_it(
    tmp_path: Path, training_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["submit", str(training_file), "--data-dir", str(tmp_path / "none")]) == 1
    assert "the devhost is not running: start it with `python -m devhost up`" in capsys.readouterr().err
