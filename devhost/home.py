"""The devhost as one object: every local stand-in for Azure, started in order and stopped in reverse.

`python -m devhost up` runs a `Devhost` until Ctrl-C or SIGTERM; the demo and the e2e tests use the same
class in-process. Each component is one function in `COMPONENTS` that starts a piece, records what the
later pieces need on the `Devhost` (addresses, settings, clients) and registers how to stop it. Settings
that the app reads are exported to the environment before `function_app` is imported, as the Functions
host does with app settings.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from devhost import components
from devhost.blob_poller import BlobPoller
from devhost.connections import DEFAULT_DATA_DIR, DevhostConnections, connections_path, write_connections
from devhost.engine import Engine
from devhost.functions_host import DEFAULT_HTTP_PORT, FunctionsHost, FunctionsHttpServer
from devhost.functions_host.timers import TimerScheduler
from devhost.local_foundry.server import LocalFoundry
from devhost.servicebus_broker import Broker
from shared.errors import ConfigurationError
from shared.settings import get_settings
from shared.storage import AzureBlobStore

log = logging.getLogger(__name__)

LOCK_FILE_NAME = "devhost.lock"


class DevhostOptions(BaseModel):
    """How to run the devhost."""

    model_config = ConfigDict(frozen=True)

    data_dir: Path = Field(DEFAULT_DATA_DIR, description="Where every component keeps its state.")
    http_port: int = Field(DEFAULT_HTTP_PORT, ge=0, le=65535, description="Functions HTTP port (0: any free port).")
    app_ref: str = Field("function_app:app", description="`module:attribute` of the Functions app object.")
    poll_interval_s: float = Field(2.0, gt=0, description="How often the blob poller lists `training-data`.")
    timers: bool = Field(True, description="Run the app's timer triggers on their schedules.")
    virtual_clock: bool = Field(
        False, description="Durable timers skip ahead whenever the engine is idle (tests, demos); else real time."
    )
    write_connections_file: bool = Field(True, description="Write `<data_dir>/connections.json`.")
    dashboard_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="Ops dashboard port (0: any free port; None: 7080, or any free port when `http_port` is 0).",
    )


class Devhost:
    """The running local home of the app. Use as a context manager, or `start()` then `stop()`."""

    def __init__(self, options: DevhostOptions | None = None) -> None:
        self.options = options or DevhostOptions()
        self.data_dir = self.options.data_dir.resolve()
        self.settings_env: dict[str, str] = {}
        self.secret_env: dict[str, SecretStr] = {}
        self.addresses: dict[str, str] = {}
        self.secrets: dict[str, SecretStr] = {}
        self.store: AzureBlobStore | None = None
        self.app: Any = None
        self.functions: FunctionsHost | None = None
        self.http_server: FunctionsHttpServer | None = None
        self.timers: TimerScheduler | None = None
        self.pollers: list[BlobPoller] = []
        self.client_binding: Callable[[], str] | None = None
        self.engine: Engine | None = None
        self.broker: Broker | None = None
        self.foundry: LocalFoundry | None = None
        self._stack = ExitStack()
        self._started = False

    # ---- life cycle ---------------------------------------------------------------------------

    def start(self) -> Devhost:
        """Start every component in order; if one fails, stop those already started and re-raise.

        Call it from a thread that lives as long as the devhost (the main thread): server children are
        ended by the kernel when the thread that started them dies.
        """
        if self._started:
            raise RuntimeError("this devhost is already started")
        self._started = True
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._stack.enter_context(_exclusive_lock(self.data_dir / LOCK_FILE_NAME))
            # A devhost killed with -9 leaves its file behind: readers must not find those dead addresses.
            connections_path(self.data_dir).unlink(missing_ok=True)
            for component in components.COMPONENTS:
                log.debug("starting %s", component.__name__)
                component(self)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every started component, last started first; safe to call twice."""
        self._stack.close()
        self._stack = ExitStack()
        self._started = False

    def __enter__(self) -> Devhost:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # ---- what components use ------------------------------------------------------------------

    def on_stop(self, callback: Callable[[], object]) -> None:
        """Run `callback` when the devhost stops (in reverse order of registration)."""
        self._stack.callback(callback)

    def export_setting(self, name: str, value: str | SecretStr) -> None:
        """An app setting for the app (environment variable), restored to its old value on stop."""
        previous = os.environ.get(name)
        os.environ[name] = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(value, SecretStr):
            self.secret_env[name] = value
        else:
            self.settings_env[name] = value
        get_settings.cache_clear()

        def restore() -> None:
            if previous is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = previous
            get_settings.cache_clear()

        self.on_stop(restore)

    def load_app(self) -> Any:
        """Import the app object named by `app_ref` (after the settings are exported)."""
        module_name, _, attribute = self.options.app_ref.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            raise ConfigurationError(f"cannot import the Functions app module {module_name!r}: {error}") from error
        try:
            return getattr(module, attribute or "app")
        except AttributeError:
            raise ConfigurationError(f"module {module_name!r} has no attribute {attribute or 'app'!r}") from None

    def connections(self) -> DevhostConnections:
        """What `connections.json` holds: every address, and the local emulators' connection strings."""
        return DevhostConnections.model_validate({**self.secrets, **self.addresses})

    def write_connections(self) -> Path:
        """Write `<data_dir>/connections.json` (0600) and remove it again on stop."""
        path = write_connections(self.connections(), connections_path(self.data_dir))
        self.on_stop(lambda: path.unlink(missing_ok=True))
        return path


@contextlib.contextmanager
def _exclusive_lock(path: Path) -> Iterator[IO[str]]:
    """Hold an exclusive lock on `path`; the kernel drops it if the process dies, so kill -9 leaves none."""
    handle = path.open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise ConfigurationError(
            f"a devhost is already running with data directory {path.parent} (pid {holder}); stop it first "
            "or use another --data-dir"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    try:
        yield handle
    finally:
        handle.seek(0)
        handle.truncate()
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
