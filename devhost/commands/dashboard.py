"""`python -m devhost dashboard`: serve the ops dashboard on 127.0.0.1 until Ctrl-C.

By default it reads the running devhost's `connections.json` (HTTP API, Azurite, broker). `--api URL`
points it at any deployment of the HTTP API instead; reports are then read from the Blob Storage the
settings describe (if any), and the run page has no event source. `devhost up` already serves a
dashboard of its own; this command is for a second one or another deployment.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from devhost.commands._client_args import EXIT_FAILED, EXIT_OK, EXIT_USAGE, add_data_dir
from devhost.connections import connections_path, read_connections
from devhost.dashboard import DEFAULT_DASHBOARD_PORT
from shared.errors import ConfigurationError
from shared.settings import get_settings

if TYPE_CHECKING:
    from devhost.dashboard.wiring import RunningDashboard


def register(subparsers: Any) -> None:
    """Add the `dashboard` subcommand."""
    parser = subparsers.add_parser(
        "dashboard",
        help="serve the ops dashboard (runs, stage timelines, events, reports) on 127.0.0.1",
        description="Serve the ops dashboard on 127.0.0.1 until Ctrl-C: the running devhost's runs, or those of "
        "the HTTP API given with --api.",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_DASHBOARD_PORT, help="port (default: %(default)s; 0: any)")
    parser.add_argument("--bind", default="127.0.0.1", help="loopback address to bind (default: 127.0.0.1)")
    parser.add_argument("--api", metavar="URL", help="base URL of the HTTP API (default: the running devhost's)")
    parser.add_argument(
        "--api-key-env",
        metavar="NAME",
        help="environment variable holding a function key for --api (sent as x-functions-key, never shown)",
    )
    add_data_dir(parser)
    parser.set_defaults(handler=run)


def _start(args: argparse.Namespace) -> RunningDashboard:
    # The server, its pages and the Storage SDK load only when the dashboard is served, not for --help.
    from devhost.dashboard.wiring import start_dashboard  # noqa: PLC0415
    from shared.storage import AzureBlobStore, blob_store_from_settings  # noqa: PLC0415

    api_key = None
    if args.api_key_env:
        value = os.environ.get(args.api_key_env)
        if not value:
            raise ConfigurationError(f"environment variable {args.api_key_env} (--api-key-env) is not set")
        api_key = SecretStr(value)
    reports_container = get_settings().reports_container
    if args.api:
        settings = get_settings()
        configured = settings.storage_connection_string is not None or settings.storage_account_url is not None
        return start_dashboard(
            args.api,
            store=blob_store_from_settings(settings) if configured else None,
            reports_container=reports_container,
            servicebus=None,
            api_key=api_key,
            port=args.port,
            bind=args.bind,
        )
    connections = read_connections(connections_path(args.data_dir))
    return start_dashboard(
        connections.http,
        store=AzureBlobStore(connection_string=connections.storage),
        reports_container=reports_container,
        servicebus=connections.servicebus,
        secrets=(connections.storage, connections.servicebus),
        api_key=api_key,
        port=args.port,
        bind=args.bind,
    )


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM."""
    if not 0 <= args.port <= 65535:
        print("error: --port must be 0-65535", file=sys.stderr)
        return EXIT_USAGE
    if args.api and urlsplit(args.api).scheme not in {"http", "https"}:
        print(f"error: --api {args.api!r} is not an http(s) URL, e.g. http://127.0.0.1:7071", file=sys.stderr)
        return EXIT_USAGE
    try:
        dashboard = _start(args)
    except ConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE if "bind" in str(error) else EXIT_FAILED
    stopping = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"ops dashboard: {dashboard.url}  (Ctrl-C to stop)", flush=True)
    try:
        stopping.wait()
    finally:
        dashboard.stop()
    return EXIT_OK
