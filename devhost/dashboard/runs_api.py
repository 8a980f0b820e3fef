"""The app's HTTP API as the dashboard uses it: `GET /api/runs`, `GET /api/runs/{runId}` and run commands."""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr

FUNCTIONS_KEY_HEADER = "x-functions-key"
LIST_FILTERS = ("state", "family", "since", "until")


class ApiAnswer(BaseModel):
    """One answer of the HTTP API: its status code and JSON body (None when it did not answer)."""

    model_config = ConfigDict(frozen=True)

    status_code: int
    payload: Any = None
    unreachable: bool = False


class RunsApi(Protocol):
    """What the dashboard asks of the HTTP API."""

    def list_runs(self, filters: dict[str, str]) -> ApiAnswer:
        """`GET /api/runs` with the given filters."""
        ...

    def get_run(self, run_id: str) -> ApiAnswer:
        """`GET /api/runs/{runId}`."""
        ...

    def send_command(self, run_id: str, command: str, reason: str | None) -> ApiAnswer:
        """`POST /api/runs/{runId}/{command}` with `{"reason": ...}`."""
        ...


class HttpRunsApi:
    """`RunsApi` over HTTP, against the devhost or any deployment of the app.

    `api_key` (a function key, for Azure) goes in the `x-functions-key` header and nowhere else.
    """

    def __init__(self, base_url: str, *, api_key: SecretStr | None = None, timeout_s: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {FUNCTIONS_KEY_HEADER: api_key.get_secret_value()} if api_key else {}
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout_s, trust_env=False)

    def list_runs(self, filters: dict[str, str]) -> ApiAnswer:
        return self._get("/api/runs", {key: value for key, value in filters.items() if key in LIST_FILTERS})

    def get_run(self, run_id: str) -> ApiAnswer:
        return self._get(f"/api/runs/{quote(run_id, safe='')}", {})

    def send_command(self, run_id: str, command: str, reason: str | None) -> ApiAnswer:
        path = f"/api/runs/{quote(run_id, safe='')}/{quote(command, safe='')}"
        return self._request("POST", path, json={"reason": reason} if reason else {})

    def _get(self, path: str, params: dict[str, str]) -> ApiAnswer:
        return self._request("GET", path, params=params)

    def _request(self, method: str, path: str, **kwargs: Any) -> ApiAnswer:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError:
            return ApiAnswer(status_code=502, payload=None, unreachable=True)
        try:
            payload: Any = response.json()
        except ValueError:
            payload = None
        return ApiAnswer(status_code=response.status_code, payload=payload)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()
