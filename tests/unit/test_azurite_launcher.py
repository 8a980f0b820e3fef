from __future__ import annotations

from pathlib import Path

import pytest

from devhost import azurite
from devhost.cli import main
from shared.errors import ConfigurationError


def test_missing_node_says_to_install_node_and_run_make_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(azurite.shutil, "which", lambda _name: None)
    with pytest.raises(ConfigurationError, match=r"Node\.js.*make setup"):
        azurite.start_azurite(Path("unused"))


def test_missing_node_modules_says_to_run_make_setup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(azurite, "AZURITE_BLOB_BIN", tmp_path / "node_modules" / ".bin" / "azurite-blob")
    with pytest.raises(ConfigurationError, match="run `make setup`"):
        azurite.start_azurite(tmp_path / "data")


def test_the_command_binds_loopback_with_the_devhost_flags(tmp_path: Path) -> None:
    command = azurite.azurite_command(tmp_path)
    assert {"--silent", "--disableTelemetry", "--loose", "--skipApiVersionCheck"} <= set(command)
    assert command[command.index("--blobHost") + 1] == "127.0.0.1"
    assert command[command.index("--location") + 1] == str(tmp_path)
    in_memory = azurite.azurite_command(tmp_path, in_memory=True, skip_api_version_check=False)
    assert "--inMemoryPersistence" in in_memory
    assert "--location" not in in_memory
    assert "--skipApiVersionCheck" not in in_memory


def test_the_connection_string_names_the_development_account_on_loopback() -> None:
    value = azurite.connection_string(10123)
    assert "AccountName=devstoreaccount1;" in value
    assert "BlobEndpoint=http://127.0.0.1:10123/devstoreaccount1;" in value


def test_the_command_refuses_a_port_out_of_range(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["azurite", "--port", "70000"]) == 2
    assert "--port 70000: must be between 0 and 65535" in capsys.readouterr().err


def test_the_command_says_what_to_do_when_azurite_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(azurite, "AZURITE_BLOB_BIN", tmp_path / "missing")
    assert main(["azurite", "--data-dir", str(tmp_path / "data")]) == 1
    assert "run `make setup`" in capsys.readouterr().err
