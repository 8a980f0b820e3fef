"""The HTTP front of the functions host: `http://127.0.0.1:<port>/api/<route>`, threaded, loopback only."""

from __future__ import annotations

import logging
import socket
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from devhost.functions_host.host import FunctionsHost, json_reply
from devhost.functions_host.http_binding import HttpReply
from devhost.functions_host.webhooks_proxy import WEBHOOKS_PREFIX, DurableWebhooksProxy
from devhost.loopback_http import BackgroundHttp, LoopbackHttpServer

log = logging.getLogger(__name__)

DEFAULT_HTTP_PORT = 7071
MAX_BODY_BYTES = 64 * 1024 * 1024


DISCARD_LIMIT_BYTES = 16 * 1024 * 1024
DISCARD_TIMEOUT_S = 1.0


class _BodyTooLargeError(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(body)
                if len(body) + size > self.server.max_body_bytes:
                    raise _BodyTooLargeError
                body.extend(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > self.server.max_body_bytes:
            raise _BodyTooLargeError
        return self.rfile.read(length) if length > 0 else b""

    def _discard_rest_of_request(self) -> None:
        """Read (and drop) what the client is still sending, up to a bound, before answering 413.

        Closing a socket with unread data resets the connection, and the client then never sees the reply.
        """
        self.connection.settimeout(DISCARD_TIMEOUT_S)
        remaining = DISCARD_LIMIT_BYTES
        try:
            while remaining > 0:
                chunk = self.rfile.read1(min(65536, remaining))
                if not chunk:
                    return
                remaining -= len(chunk)
        except OSError:
            return

    def _handle(self) -> None:
        try:
            body = self._read_body()
        except _BodyTooLargeError:
            self.close_connection = True
            self._discard_rest_of_request()
            too_large = {"error": f"request body larger than {self.server.max_body_bytes} bytes"}
            self._send(json_reply(413, too_large, [("Connection", "close")]))
            return
        except ValueError:
            self.close_connection = True
            self._send(json_reply(400, {"error": "malformed request body framing"}, [("Connection", "close")]))
            return
        parts = urlsplit(self.path)
        host_header = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        url = f"http://{host_header}{self.path}"
        headers = dict(self.headers.items())
        proxy = self.server.webhooks
        if proxy is not None and parts.path.startswith(WEBHOOKS_PREFIX):
            self._send(proxy.forward(self.command, self.path, headers, body))
            return
        reply = self.server.functions.handle_http(
            self.command, url, path=parts.path, query=parts.query, headers=headers, body=body
        )
        self._send(reply)

    def _send(self, reply: HttpReply) -> None:
        self.send_response(reply.status_code)
        for key, value in reply.headers:
            self.send_header(key, value)
        send_body = self.command != "HEAD"
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if send_body and reply.body:
            self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle  # noqa: N815 (http.server dispatches to do_<METHOD>)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s - %s", self.address_string(), format % args)


class _Server(LoopbackHttpServer):
    def __init__(
        self,
        address: tuple[str, int],
        functions: FunctionsHost,
        webhooks: DurableWebhooksProxy | None,
        max_body_bytes: int,
    ) -> None:
        self.functions = functions
        self.webhooks = webhooks
        self.max_body_bytes = max_body_bytes
        super().__init__(address, _Handler)


class FunctionsHttpServer:
    """Serves a `FunctionsHost`'s HTTP functions on 127.0.0.1 in a background thread.

    With `management_url` (the engine's), the Durable HTTP API is reachable on this origin too, as in Azure.
    """

    def __init__(
        self,
        functions: FunctionsHost,
        port: int = DEFAULT_HTTP_PORT,
        bind: str = "127.0.0.1",
        management_url: str | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self._http: BackgroundHttp[_Server] = BackgroundHttp(bind, port, serving="HTTP", thread_name="functions-http")
        self._max_body_bytes = max_body_bytes
        self._functions = functions
        self._webhooks = None if management_url is None else DurableWebhooksProxy(management_url)

    def start(self) -> None:
        """Bind and serve; a port in use raises `ConfigurationError` naming it."""
        self._http.start(lambda address: _Server(address, self._functions, self._webhooks, self._max_body_bytes))

    @property
    def port(self) -> int:
        """The bound port (the real one when 0 was asked for)."""
        return self._http.port

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:7071`."""
        return self._http.url

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._http.stop()
        if self._webhooks is not None:
            self._webhooks.close()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
