from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from devhost.connections import DevhostConnections, connections_path, read_connections, write_connections
from shared.errors import ConfigurationError

STORAGE = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=c2VjcmV0;"
SERVICEBUS = "Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=k;SharedAccessKey=s3cret;UseDevelopmentEmulator=true;"


def _connections() -> DevhostConnections:
    return DevhostConnections(
        storage=SecretStr(STORAGE), servicebus=SecretStr(SERVICEBUS), http="http://127.0.0.1:7071"
    )


def test_written_file_has_the_documented_shape_and_mode_0600(tmp_path: Path) -> None:
    path = write_connections(_connections(), connections_path(tmp_path / "devhost"))
    assert path == tmp_path / "devhost" / "connections.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {
        "storage": STORAGE,
        "servicebus": SERVICEBUS,
        "http": "http://127.0.0.1:7071",
    }


def test_round_trip_keeps_optional_and_unknown_servers(tmp_path: Path) -> None:
    path = tmp_path / "connections.json"
    path.write_text(
        json.dumps({"storage": STORAGE, "servicebus": SERVICEBUS, "http": "http://h", "foundry": "http://f", "x": "y"})
    )
    read = read_connections(path)
    assert read.foundry == "http://f"
    assert read.storage.get_secret_value() == STORAGE
    write_connections(read, path)
    assert json.loads(path.read_text())["x"] == "y"


def test_overwriting_keeps_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "connections.json"
    path.write_text("{}")
    path.chmod(0o644)
    write_connections(_connections(), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list(tmp_path.iterdir()) == [path]


def test_keys_never_show_in_repr() -> None:
    assert "c2VjcmV0" not in repr(_connections())
    assert "s3cret" not in str(_connections())


def test_missing_file_says_to_start_the_devhost(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="devhost up"):
        read_connections(tmp_path / "connections.json")


def test_malformed_file_names_the_missing_field_without_leaking_keys(tmp_path: Path) -> None:
    path = tmp_path / "connections.json"
    path.write_text(json.dumps({"storage": STORAGE, "http": "http://h"}))
    with pytest.raises(ConfigurationError, match="servicebus") as info:
        read_connections(path)
    assert "c2VjcmV0" not in str(info.value)
