"""Talking to a running devhost from another process: its addresses come from `connections.json`.

Client subcommands (`submit`, `status`, `cancel`...) use this module; when the file is missing or the
devhost does not answer they fail with one clear message saying how to start it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

from devhost.connections import DEFAULT_DATA_DIR, DevhostConnections, connections_path, read_connections
from shared.errors import ConfigurationError, OrchestratorError

NOT_RUNNING = "the devhost is not running: start it with `python -m devhost up`"
DEFAULT_TIMEOUT_S = 60.0


class DevhostNotRunningError(OrchestratorError):
    """No devhost answers at the addresses of the data directory's connections file."""


class ApiReply(BaseModel):
    """One answer of the devhost's HTTP API."""

    model_config = ConfigDict(frozen=True)

    status_code: int
    payload: Any

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return 200 <= self.status_code < 300

    def error_message(self) -> str:
        """The API's `error` text, else the status code."""
        if isinstance(self.payload, dict) and isinstance(self.payload.get("error"), str):
            return str(self.payload["error"])
        return f"HTTP {self.status_code}"


class DevhostClient:
    """The HTTP API and the connection details of one running devhost."""

    def __init__(self, connections: DevhostConnections, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.connections = connections
        self._http = httpx.Client(base_url=connections.http, timeout=timeout_s, trust_env=False)

    def request(self, method: str, path: str, json_body: Any = None, params: dict[str, str] | None = None) -> ApiReply:
        """Call `/api/<path>`; an unreachable devhost raises `DevhostNotRunningError`."""
        try:
            response = self._http.request(method, f"/api/{path.lstrip('/')}", json=json_body, params=params)
        except httpx.TransportError:
            raise DevhostNotRunningError(f"{NOT_RUNNING} (nothing answers at {self.connections.http})") from None
        try:
            payload: Any = response.json()
        except ValueError:
            payload = response.text
        return ApiReply(status_code=response.status_code, payload=payload)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> DevhostClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def connect(data_dir: Path = DEFAULT_DATA_DIR, timeout_s: float = DEFAULT_TIMEOUT_S) -> DevhostClient:
    """A client of the devhost whose state is in `data_dir`; `DevhostNotRunningError` when there is none."""
    path = connections_path(data_dir)
    if not path.exists():
        raise DevhostNotRunningError(f"{NOT_RUNNING} (no {path})")
    try:
        connections = read_connections(path)
    except ConfigurationError as error:
        raise DevhostNotRunningError(f"{NOT_RUNNING} ({error})") from None
    return DevhostClient(connections, timeout_s)
