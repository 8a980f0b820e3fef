"""The components of `Devhost`, in start order: adding a piece to the devhost is one line in `COMPONENTS`.

Each component takes the `Devhost`, starts its piece, records what later components need on it and
registers its own stop with `home.on_stop`.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from devhost.azurite import AzuriteError, AzuriteServer, start_azurite
from devhost.blob_poller import BlobPoller
from devhost.client_loop import run_on_client_loop
from devhost.engine import Engine, RealClock, VirtualClock
from devhost.engine.client import client_binding_json
from devhost.functions_host import FunctionsHost, FunctionsHttpServer
from devhost.functions_host.servicebus_listener import ServiceBusTriggerListener
from devhost.local_foundry.config import FoundryConfig
from devhost.local_foundry.server import LocalFoundry
from devhost.orphans import ChildRegistry
from devhost.servicebus_broker import Broker
from shared import names
from shared.bootstrap import use_services
from shared.settings import get_settings
from shared.storage import AzureBlobStore

if TYPE_CHECKING:
    from devhost.home import Devhost

log = logging.getLogger(__name__)

# Binding `connection` names the app's triggers use: the host reads them, the devhost points them locally.
STORAGE_CONNECTION_SETTINGS = ("STORAGE_CONNECTION_STRING", "AzureWebJobsStorage")
SERVICEBUS_CONNECTION_SETTINGS = ("SERVICEBUS_CONNECTION_STRING", "ServiceBusConnection")
BLOB_PORT_FILE = "blob-port"
CONTAINERS = (names.TRAINING_CONTAINER, names.REPORTS_CONTAINER, names.STATE_CONTAINER)


def children(home: Devhost) -> None:
    """End server processes a killed devhost left behind on this data directory."""
    ChildRegistry(home.data_dir).end_orphans()


def _start_azurite_on_its_port(location: Path) -> AzuriteServer:
    """Azurite on the port it had last time on this data directory, when that port is free.

    Blob URLs outlive a devhost (a training job's data URI in the foundry's registry, links in reports): after
    a restart, even one after SIGKILL, they must still point at the same account, as they do in Azure.
    """
    port_file = location / BLOB_PORT_FILE
    try:
        previous = int(port_file.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        previous = 0
    try:
        server = start_azurite(location, blob_port=previous, stop_with_parent=True)
    except AzuriteError as error:
        if not previous:
            raise
        log.warning(
            "Azurite cannot listen on its previous port %d (%s); blob URLs stored before will not resolve",
            previous,
            error,
        )
        server = start_azurite(location, stop_with_parent=True)
    port_file.write_text(str(server.blob_port), encoding="utf-8")
    return server


def storage(home: Devhost) -> None:
    """Azurite with its data under the data directory; the three containers; the app's storage settings."""
    # The kernel ends Azurite if the starting thread dies, even by SIGKILL; the registry is the fallback.
    server = _start_azurite_on_its_port(home.data_dir / "azurite")
    registry = ChildRegistry(home.data_dir)
    registry.add("azurite", server.process.pid)

    def stop_azurite() -> None:
        server.stop()
        registry.remove(server.process.pid)

    home.on_stop(stop_azurite)
    connection_string = SecretStr(server.connection_string)
    for setting in STORAGE_CONNECTION_SETTINGS:
        home.export_setting(setting, connection_string)
    home.secrets["storage"] = connection_string
    home.addresses["storage_blob_endpoint"] = server.blob_endpoint
    store = AzureBlobStore(connection_string=connection_string)
    home.on_stop(store.close)
    for container in CONTAINERS:
        store.ensure_container(container)
    home.store = store


def servicebus(home: Devhost) -> None:
    """The Service Bus broker (messages kept under the data directory); the app's Service Bus settings."""
    broker = Broker(port=0, data_dir=home.data_dir / "servicebus")
    broker.start()
    home.on_stop(broker.stop)
    home.broker = broker
    for setting in SERVICEBUS_CONNECTION_SETTINGS:
        home.export_setting(setting, broker.connection_string)
    home.secrets["servicebus"] = broker.connection_string
    home.addresses["servicebus_endpoint"] = f"sb://{broker.host}:{broker.port}"


# The smoke test scores answers to held-out examples against their references. The tiny model trained from
# scratch on the Xbox set scored 0.04-0.13 mean ROUGE-L in our runs; empty or garbage replies score 0. So the
# devhost gates on "answers in the domain's words", while Azure keeps SMOKE_MIN_QUALITY's default for Phi-3.
LOCAL_SMOKE_MIN_QUALITY = "0.03"


def foundry(home: Devhost) -> None:
    """The local foundry (jobs, models, deployments and keys under the data directory); LOCAL_FOUNDRY_URL."""
    data_dir = home.data_dir / "foundry"
    storage = home.secrets.get("storage")
    local = LocalFoundry(
        data_dir,
        storage_connection_string=None if storage is None else storage.get_secret_value(),
        config=FoundryConfig.from_settings(get_settings()),
    )
    local.start()
    home.on_stop(local.stop)
    home.foundry = local
    home.export_setting("LOCAL_FOUNDRY_URL", local.url)
    home.secrets["foundry_key"] = local.management_key
    home.export_setting("LOCAL_FOUNDRY_KEY", local.management_key)
    home.export_setting("LOCAL_FOUNDRY_DATA_DIR", str(data_dir))
    if "SMOKE_MIN_QUALITY" not in os.environ:
        home.export_setting("SMOKE_MIN_QUALITY", LOCAL_SMOKE_MIN_QUALITY)
    home.addresses["foundry"] = local.url


def app(home: Devhost) -> None:
    """Import the Functions app, now that its settings are in the environment.

    The app's process-wide clients are dropped before and after, as if each devhost were a fresh Functions
    worker process: a second devhost in one process (tests) must not reach the first one's servers.
    """
    home.export_setting("FOUNDRY_BACKEND", "local")
    use_services(None)
    home.on_stop(lambda: use_services(None))
    home.app = home.load_app()


def engine(home: Devhost) -> None:
    """The durable engine (SQLite under the data directory) and its management API."""
    durable = Engine(
        home.app,
        home.data_dir / "engine.sqlite",
        VirtualClock() if home.options.virtual_clock else RealClock(),
        task_hub=get_settings().durable_task_hub,
    )
    home.on_stop(durable.stop)
    durable.start()
    home.engine = durable
    home.client_binding = functools.partial(client_binding_json, durable)
    if durable.management_url is not None:
        home.addresses["management"] = durable.management_url


def _close_durable_http_session() -> None:
    # The SDK's one aiohttp session would otherwise be reported unclosed at exit; the SDK recreates it on
    # the next client call, so an in-process devhost started again still works.
    from azure.durable_functions.models.utils import http_utils  # noqa: PLC0415 (only at stop)

    try:
        run_on_client_loop(http_utils._close_session(), 10)
    except Exception:
        log.debug("closing the Durable SDK's HTTP session failed", exc_info=True)


def functions(home: Devhost) -> None:
    """The app's non-durable functions and their HTTP server on 127.0.0.1."""
    home.on_stop(_close_durable_http_session)
    host = FunctionsHost(home.app, home.client_binding)
    home.on_stop(host.close)
    management_url = None if home.engine is None else home.engine.management_url
    server = FunctionsHttpServer(host, port=home.options.http_port, management_url=management_url)
    server.start()
    home.on_stop(server.stop)
    home.functions, home.http_server = host, server
    home.addresses["http"] = server.url


def blob_triggers(home: Devhost) -> None:
    """A poller per container that blob triggers watch (Event Grid's stand-in), once per (name, ETag)."""
    functions, store = home.functions, home.store
    if functions is None or store is None:
        return
    for container in functions.blob_containers():
        poller = BlobPoller(
            store,
            container,
            home.data_dir / f"blob-receipts-{container}.sqlite",
            functools.partial(functions.on_blob, store),
            home.options.poll_interval_s,
        )
        # The data directory's lock says no other devhost runs here: claims still open are a killed one's.
        orphaned = poller.receipts.expire_leases()
        if orphaned:
            log.warning(
                "%d upload(s) of %s were being handled when a devhost died; handling them again", orphaned, container
            )
        poller.start()
        home.on_stop(poller.close)
        home.pollers.append(poller)


def servicebus_triggers(home: Devhost) -> None:
    """A receiver per Service Bus trigger of the app, on the local broker."""
    functions, connection_string = home.functions, home.secrets.get("servicebus")
    if functions is None or connection_string is None:
        return
    for trigger in functions.of_kind("servicebus"):
        listener = ServiceBusTriggerListener(functions, trigger, connection_string)
        listener.start()
        home.on_stop(listener.stop)


def timers(home: Devhost) -> None:
    """The app's timer triggers on their NCRONTAB schedules (status kept in the data directory)."""
    if not home.options.timers or home.functions is None:
        return
    scheduler = home.functions.timer_scheduler(home.data_dir / "timers.json")
    scheduler.start()
    home.on_stop(scheduler.stop)
    home.timers = scheduler


def dashboard(home: Devhost) -> None:
    """The ops dashboard on 127.0.0.1: runs from the HTTP API, reports from Azurite, events from the broker."""
    from devhost.dashboard import DEFAULT_DASHBOARD_PORT  # noqa: PLC0415 (only the devhost needs it)
    from devhost.dashboard.wiring import start_dashboard  # noqa: PLC0415

    if "http" not in home.addresses:
        return
    port = home.options.dashboard_port
    if port is None:
        port = 0 if home.options.http_port == 0 else DEFAULT_DASHBOARD_PORT
    running = start_dashboard(
        home.addresses["http"],
        store=home.store,
        reports_container=get_settings().reports_container,
        servicebus=home.secrets.get("servicebus"),
        secrets=tuple(home.secrets.values()),
        port=port,
    )
    home.on_stop(running.stop)
    home.addresses["dashboard"] = running.url


def connections_file(home: Devhost) -> None:
    """`<data_dir>/connections.json`, last: it announces a devhost that is ready."""
    if home.options.write_connections_file:
        home.write_connections()


COMPONENTS: tuple[Callable[[Devhost], None], ...] = (
    children,
    storage,
    servicebus,
    foundry,
    app,
    engine,
    functions,
    blob_triggers,
    servicebus_triggers,
    timers,
    dashboard,
    connections_file,
)
