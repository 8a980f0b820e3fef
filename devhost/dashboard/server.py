"""The dashboard's HTTP server: threaded, on 127.0.0.1 only, in a background thread."""

from __future__ import annotations

import logging
from http.server import BaseHTTPRequestHandler

from devhost.dashboard import DEFAULT_DASHBOARD_PORT
from devhost.dashboard.actions import MAX_BODY_BYTES
from devhost.dashboard.app import PAGE_CSP, DashboardApp, Reply
from devhost.loopback_http import BackgroundHttp, LoopbackHttpServer

log = logging.getLogger(__name__)

_SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
    ("X-Frame-Options", "DENY"),
)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        # Only a command has a body, and a small one; a larger body is not read and ends the connection.
        length = int(self.headers.get("Content-Length") or 0)
        body: bytes | None = self.rfile.read(length) if 0 < length <= MAX_BODY_BYTES else b""
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            body = None
        reply = self.server.app.handle(
            self.command,
            self.path,
            self.headers.get("Host"),
            origin=self.headers.get("Origin"),
            content_type=self.headers.get("Content-Type"),
            body=body,
        )
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        headers = dict(reply.headers)
        headers.setdefault("Content-Security-Policy", PAGE_CSP)
        for key, value in (*_SECURITY_HEADERS, *headers.items()):
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD" and reply.body:
            self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle  # noqa: N815 (http.server dispatches to do_<METHOD>)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s - %s", self.address_string(), format % args)


class _Server(LoopbackHttpServer):
    def __init__(self, address: tuple[str, int], app: DashboardApp) -> None:
        self.app = app
        super().__init__(address, _Handler)


class DashboardServer:
    """Serves a `DashboardApp` on a loopback address; any other bind address is refused."""

    def __init__(self, app: DashboardApp, port: int = DEFAULT_DASHBOARD_PORT, bind: str = "127.0.0.1") -> None:
        self._http: BackgroundHttp[_Server] = BackgroundHttp(
            bind, port, serving="the dashboard", thread_name="dashboard-http"
        )
        self._app = app

    def start(self) -> DashboardServer:
        """Bind and serve; a port in use raises `ConfigurationError` naming it."""
        self._http.start(lambda address: _Server(address, self._app))
        return self

    @property
    def port(self) -> int:
        """The bound port (the real one when 0 was asked for)."""
        return self._http.port

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:7080`."""
        return self._http.url

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call twice."""
        self._http.stop()
