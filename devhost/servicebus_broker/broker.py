"""`Broker`: the devhost's Service Bus stand-in, run on a background thread of the calling process."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from pathlib import Path

from proton.reactor import ApplicationEvent, Container, EventInjector
from pydantic import SecretStr

from devhost.servicebus_broker.entities import Namespace, default_namespace
from devhost.servicebus_broker.registry import Registry
from devhost.servicebus_broker.server import BrokerHandler
from devhost.servicebus_broker.store import Store

_LOG = logging.getLogger(__name__)

DEFAULT_KEY_NAME = "RootManageSharedAccessKey"
STORE_FILE = "servicebus.sqlite"
KEY_FILE = "servicebus.key"
PORT_FILE = "servicebus.port"


def _stored_key(data_dir: Path | None) -> str:
    """A random key, kept in the data directory (mode 0600) so a restarted broker accepts old clients."""
    if data_dir is None:
        return secrets.token_urlsafe(32)
    path = data_dir / KEY_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key)
    return key


def _free_port(host: str, wanted: int = 0) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, wanted))
        return int(probe.getsockname()[1])


def _remembered_port(host: str, data_dir: Path | None) -> int:
    """The port this data directory's broker used last time, if still free, else a new free one.

    Clients keep the connection string they were given; a broker restarted on the same directory
    (`port=0`) comes back on the same port, so they reconnect to it.
    """
    if data_dir is None:
        return _free_port(host)
    path = data_dir / PORT_FILE
    try:
        port = _free_port(host, int(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        port = _free_port(host)
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(str(port), encoding="utf-8")
    return port


class Broker:
    """An AMQP 1.0 broker that the real `azure-servicebus` SDK talks to with an emulator connection string.

    `port=0` picks a free port. With a `data_dir` messages survive a restart (a SQLite file there);
    without one the broker keeps everything in memory. Only 127.0.0.1 is ever bound.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        data_dir: Path | None = None,
        namespace: Namespace | None = None,
        key_name: str = DEFAULT_KEY_NAME,
        key: SecretStr | str | None = None,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = port or _remembered_port(self.host, data_dir)
        self.data_dir = data_dir
        self.namespace = namespace or default_namespace()
        self.key_name = key_name
        secret = key if key is not None else _stored_key(data_dir)
        self._key = secret if isinstance(secret, SecretStr) else SecretStr(secret)
        self._thread: threading.Thread | None = None
        self._injector: EventInjector | None = None
        self._store: Store | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    @property
    def key(self) -> SecretStr:
        """The shared access key clients sign their tokens with."""
        return self._key

    @property
    def connection_string(self) -> SecretStr:
        """The emulator-style connection string for `ServiceBusClient.from_connection_string`."""
        return SecretStr(
            f"Endpoint=sb://{self.host}:{self.port};SharedAccessKeyName={self.key_name};"
            f"SharedAccessKey={self._key.get_secret_value()};UseDevelopmentEmulator=true;"
        )

    def start(self, timeout: float = 10.0) -> Broker:
        """Listen and serve on a background thread; returns once the port accepts connections."""
        if self._thread is not None:
            raise RuntimeError("the broker is already running")
        self._ready.clear()
        self._failure = None
        # proton logs every client that disconnects without a close frame (an SDK client killed, a
        # test ending) as an error; that is routine for a broker, so only its critical errors show.
        logging.getLogger("proton").setLevel(logging.CRITICAL)
        self._store = Store(self.data_dir / STORE_FILE if self.data_dir else None)
        registry = Registry(self.namespace, self._store)
        handler = BrokerHandler(registry, self._store, key_name=self.key_name, key=self._key.get_secret_value())
        self._thread = threading.Thread(target=self._run, args=(handler,), name="servicebus-broker", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"the Service Bus broker did not start listening on port {self.port}")
        if self._failure is not None:
            self._thread.join()
            self._thread = None
            raise OSError(f"the Service Bus broker could not listen on 127.0.0.1:{self.port}: {self._failure}")
        return self

    def _run(self, handler: BrokerHandler) -> None:
        container = Container(handler)
        container.container_id = "devhost-servicebus-broker"
        handler.container = container
        self._injector = EventInjector()
        container.selectable(self._injector)
        try:
            handler.acceptor = container.listen(f"{self.host}:{self.port}")
        except Exception as error:  # an address in use or similar: reported by start()
            self._failure = error
            self._ready.set()
            return
        container.schedule(0.05, handler)
        self._ready.set()
        try:
            container.run()
        except Exception:
            _LOG.exception("the Service Bus broker stopped on an error")
        finally:
            if self._store is not None:
                self._store.close()

    def stop(self, timeout: float = 10.0) -> None:
        """Close every connection, flush the store and stop the thread."""
        if self._thread is None:
            return
        if self._injector is not None:
            self._injector.trigger(ApplicationEvent("broker_stop"))
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError("the Service Bus broker did not stop in time")
        self._thread = None
        self._injector = None

    def __enter__(self) -> Broker:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
