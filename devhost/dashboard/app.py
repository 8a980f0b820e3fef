"""The dashboard's routes, as a plain function of a request (the HTTP server is in `server.py`).

Pages (`/`, `/runs/<runId>`) and their scripts are static files shipped in `static/`; the pages fetch
JSON from `/data/...` every few seconds. One route changes a run: `POST /data/runs/<runId>/<command>`
(approve, reject, cancel, retry), accepted only from the dashboard's own pages (see `actions.py`) and passed
to the HTTP API, which decides.
Every answer goes through the `Redactor`, and carries a content security policy that allows no inline
script and no other origin, so even text that escaped escaping could not run.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

import orjson
from pydantic import SecretStr

from devhost.dashboard.actions import CommandRequestError, command_request
from devhost.dashboard.events import EventLog
from devhost.dashboard.redact import Redactor
from devhost.dashboard.reports import REPORT_CONTENT_TYPES, ReportReader, ReportTooLargeError
from devhost.dashboard.runs_api import LIST_FILTERS, RunsApi
from devhost.dashboard.views import ENDED_RUNTIME_STATUSES, run_page, run_row
from shared.errors import OrchestratorError
from shared.runs import RUN_ID_PATTERN

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
STATIC_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
# Report pages are generated HTML with inline styles and SVG: shown, sandboxed, never able to run script.
REPORT_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_REPORT_PATH = re.compile(r"^/reports/(?P<run>[^/]+)/(?P<name>[^/]+)$")
_RUN_DATA_PATH = re.compile(r"^/data/runs/(?P<run>[^/]+)$")
_COMMAND_PATH = re.compile(r"^/data/runs/(?P<run>[^/]+)/(?P<command>[^/]+)$")
_RUN_PAGE_PATH = re.compile(r"^/runs/(?P<run>[^/]+)$")
_STATIC_PATH = re.compile(r"^/static/(?P<name>[a-z0-9-]+\.(?:js|css|svg))$")


@dataclass(frozen=True)
class Reply:
    """An HTTP answer."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def _static_files() -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in STATIC_DIR.iterdir() if path.suffix in STATIC_TYPES}


class DashboardApp:
    """The dashboard over its three sources: the HTTP API, the report blobs and the run events.

    `events` is None when the dashboard has no event source (pointed at a deployment it cannot read the
    bus of): the run page then says so instead of showing an empty list.
    """

    def __init__(
        self,
        api: RunsApi,
        reports: ReportReader,
        events: EventLog | None = None,
        *,
        secrets: tuple[SecretStr, ...] = (),
    ) -> None:
        self._api = api
        self._reports = reports
        self._events = events
        self._redactor = Redactor(secrets)
        self._static = _static_files()

    def handle(
        self,
        method: str,
        target: str,
        host: str | None = None,
        *,
        origin: str | None = None,
        content_type: str | None = None,
        body: bytes | None = b"",
    ) -> Reply:
        """Answer one request (`target` is the path with its query string; the rest matter to commands).

        `body` is None when the server did not read it (larger than a command may be).
        """
        if host is not None and _hostname(host) not in LOOPBACK_HOSTS:
            # A page on another site that resolves its own name to 127.0.0.1 (DNS rebinding) gets nothing.
            return _error(403, f"the dashboard answers requests for 127.0.0.1 or localhost only, not {host!r}")
        if method not in {"GET", "HEAD", "POST"}:
            return Reply(
                405,
                _json({"error": f"{method} is not allowed: the dashboard answers GET, HEAD and command POSTs"}),
                headers=(("Allow", "GET, HEAD, POST"),),
            )
        path, _, query = target.partition("?")
        try:
            if method == "POST":
                return self._command(unquote(path), host, origin, content_type, body)
            return self._route(unquote(path), query)
        except Exception:
            log.exception("dashboard: %s %s failed", method, path)
            return _error(500, "the dashboard failed to answer; see the devhost log")

    def _route(self, path: str, query: str) -> Reply:
        if path in {"/", "/runs", "/index.html"}:
            return self._file("runs.html")
        if path == "/favicon.ico":
            return Reply(204, b"", "text/plain")
        if path == "/data/runs":
            return self._list_runs(query)
        routes: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], Reply]], ...] = (
            (_RUN_DATA_PATH, lambda match: self._run(match["run"])),
            (_RUN_PAGE_PATH, lambda match: self._run_page(match["run"])),
            (_REPORT_PATH, lambda match: self._report(match["run"], match["name"])),
            (_STATIC_PATH, lambda match: self._file(match["name"])),
        )
        for pattern, answer in routes:
            if match := pattern.match(path):
                return answer(match)
        return _error(404, "no such page")

    def _command(
        self, path: str, host: str | None, origin: str | None, content_type: str | None, body: bytes | None
    ) -> Reply:
        match = _COMMAND_PATH.match(path)
        if match is None:
            return Reply(405, _json({"error": "only run commands are POSTed"}), headers=(("Allow", "GET, HEAD"),))
        run_id, command = match["run"], match["command"]
        try:
            reason = command_request(run_id, command, origin=origin, host=host, content_type=content_type, body=body)
        except CommandRequestError as error:
            return _error(error.status, str(error))
        answer = self._api.send_command(run_id, command, reason)
        if answer.unreachable:
            return _error(502, "the HTTP API does not answer")
        if not 200 <= answer.status_code < 300 or not isinstance(answer.payload, dict):
            return self._upstream_error(answer.status_code, answer.payload)
        log.info("dashboard: %s %s sent to the HTTP API", command, run_id)
        return Reply(answer.status_code, _json(self._redactor.json(answer.payload)))

    def _run_page(self, run_id: str) -> Reply:
        if not RUN_ID_PATTERN.match(run_id):
            return _error(404, "not a run id (ft-<name>-<12 hex>)")
        return self._file("run.html")

    def _file(self, name: str) -> Reply:
        data = self._static.get(name)
        if data is None:
            return _error(404, "no such file")
        return Reply(200, data, STATIC_TYPES[Path(name).suffix])

    def _list_runs(self, query: str) -> Reply:
        params = parse_qs(query, keep_blank_values=False)
        filters = {key: values[-1] for key, values in params.items() if key in LIST_FILTERS and values[-1]}
        answer = self._api.list_runs(filters)
        if answer.unreachable:
            return _error(502, "the HTTP API does not answer")
        if answer.status_code != 200 or not isinstance(answer.payload, dict):
            return self._upstream_error(answer.status_code, answer.payload)
        runs = answer.payload.get("runs")
        rows = [run_row(run) for run in runs if isinstance(run, dict)] if isinstance(runs, list) else []
        return Reply(200, _json(self._redactor.json({"runs": rows, "count": len(rows)})))

    def _run(self, run_id: str) -> Reply:
        if not RUN_ID_PATTERN.match(run_id):
            return _error(400, "not a run id (ft-<name>-<12 hex>)")
        answer = self._api.get_run(run_id)
        if answer.unreachable:
            return _error(502, "the HTTP API does not answer")
        if answer.status_code != 200 or not isinstance(answer.payload, dict):
            return self._upstream_error(answer.status_code, answer.payload)
        ended = answer.payload.get("runtimeStatus") in ENDED_RUNTIME_STATUSES
        reports = self._reports.reports(run_id, ended=ended)
        events = None if self._events is None else self._events.for_run(run_id)
        page = run_page(answer.payload, events, reports)
        return Reply(200, _json(self._redactor.json(page.model_dump(mode="json", by_alias=True))))

    def _report(self, run_id: str, name: str) -> Reply:
        if not RUN_ID_PATTERN.match(run_id) or name not in REPORT_CONTENT_TYPES:
            return _error(404, "no such report")
        try:
            data = self._reports.read(run_id, name)
        except ReportTooLargeError as error:
            return _error(413, str(error))
        except OrchestratorError as error:
            return _error(502, f"the report store does not answer ({type(error).__name__})")
        if data is None:
            return _error(404, f"{name} of {run_id} has not been written (yet)")
        text = self._redactor.text(data.decode("utf-8", errors="replace"))
        return Reply(200, text.encode(), REPORT_CONTENT_TYPES[name], headers=(("Content-Security-Policy", REPORT_CSP),))

    def _upstream_error(self, status: int, payload: Any) -> Reply:
        message = payload.get("error") if isinstance(payload, dict) else None
        text = message if isinstance(message, str) else f"the HTTP API answered {status}"
        return Reply(status if 400 <= status < 600 else 502, _json({"error": self._redactor.text(text)}))


def _json(value: Any) -> bytes:
    return orjson.dumps(value)


def _error(status: int, message: str) -> Reply:
    return Reply(status, _json({"error": message}))


def _hostname(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
