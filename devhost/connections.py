"""`.devhost/connections.json`: where the running devhost's servers are, for outside tools.

Whenever the devhost starts its servers it writes their addresses here; `python -m devhost events`,
scripts and the tests of other tools read it instead of guessing ports. The file holds the local
emulators' keys, so it is written with mode 0600 and atomically (a reader never sees half a file).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_serializer

from shared.errors import ConfigurationError

DEFAULT_DATA_DIR = Path(".devhost")
CONNECTIONS_FILE_NAME = "connections.json"
FILE_MODE = 0o600


class DevhostConnections(BaseModel):
    """Addresses of the devhost's running servers, as written to `.devhost/connections.json`.

    Unknown keys are kept (a newer devhost may add servers an older reader does not know).
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    storage: SecretStr = Field(description="Blob Storage (Azurite) connection string.")
    servicebus: SecretStr = Field(description="Service Bus (devhost broker) connection string.")
    http: str = Field(description="Base URL of the Functions HTTP API, e.g. http://127.0.0.1:7071.")
    foundry: str | None = Field(None, description="Base URL of the local foundry.")
    foundry_key: SecretStr | None = Field(None, description="Management key of the local foundry.")
    dashboard: str | None = Field(None, description="Base URL of the dashboard.")

    @field_serializer("storage", "servicebus", "foundry_key", when_used="json")
    def _reveal(self, value: SecretStr | None) -> str | None:
        return None if value is None else value.get_secret_value()


def connections_path(data_dir: Path = DEFAULT_DATA_DIR) -> Path:
    """The connections file inside a devhost data directory."""
    return data_dir / CONNECTIONS_FILE_NAME


def write_connections(connections: DevhostConnections, path: Path | None = None) -> Path:
    """Write the file atomically with mode 0600 and return its path."""
    target = path or connections_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = connections.model_dump_json(indent=2, exclude_none=True)
    fd, temp_name = tempfile.mkstemp(prefix=".connections-", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(payload + "\n")
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return target


def read_connections(path: Path | None = None) -> DevhostConnections:
    """Read the file; a missing or malformed file raises `ConfigurationError` saying what to do."""
    source = path or connections_path()
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(
            f"{source} does not exist: the devhost is not running here (start it with `python -m devhost up`)"
        ) from None
    try:
        return DevhostConnections.model_validate_json(text)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(file)'}: {e['msg']}" for e in exc.errors())
        raise ConfigurationError(f"{source} is not a valid connections file: {problems}") from None
