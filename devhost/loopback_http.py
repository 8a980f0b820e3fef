"""Serving HTTP on a loopback address in a background thread: what the devhost's HTTP servers share."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Generic, TypeVar

from shared.errors import ConfigurationError


def check_loopback(bind: str) -> str:
    """The address itself if it is a loopback address (or `localhost`); `ConfigurationError` otherwise."""
    if bind == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(bind)
    except ValueError:
        raise ConfigurationError(
            f"bind address {bind!r} is not an IP address; the devhost binds 127.0.0.1 only"
        ) from None
    if not address.is_loopback:
        raise ConfigurationError(
            f"refusing to bind {bind}: the devhost serves unauthenticated local emulators and binds loopback "
            "(127.0.0.1) only"
        )
    return bind


class LoopbackHttpServer(ThreadingHTTPServer):
    """A threaded HTTP server on an IPv4 or IPv6 address, its request threads daemons."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)


ServerT = TypeVar("ServerT", bound=LoopbackHttpServer)


class BackgroundHttp(Generic[ServerT]):
    """Binds a loopback server when started, serves it on a named thread, and frees the port when stopped."""

    def __init__(self, bind: str, port: int, *, serving: str, thread_name: str) -> None:
        self.address = (check_loopback(bind), port)
        self._serving = serving
        self._thread_name = thread_name
        self.server: ServerT | None = None
        self._thread: threading.Thread | None = None

    def start(self, make_server: Callable[[tuple[str, int]], ServerT]) -> ServerT:
        """Bind with `make_server(address)` and serve; a port in use raises `ConfigurationError` naming it."""
        try:
            self.server = make_server(self.address)
        except OSError as error:
            raise ConfigurationError(
                f"cannot serve {self._serving} on {self.address[0]}:{self.address[1]}: {error.strerror}"
            ) from None
        self._thread = threading.Thread(target=self.server.serve_forever, name=self._thread_name, daemon=True)
        self._thread.start()
        return self.server

    @property
    def port(self) -> int:
        """The bound port (the real one when 0 was asked for)."""
        if self.server is None:
            raise RuntimeError(f"the server of {self._serving} is not started")
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:7071` (IPv6 hosts in brackets)."""
        host = self.address[0]
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call twice."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.server = self._thread = None
