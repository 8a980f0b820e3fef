"""`python -m devhost up`: run the whole local home of the app until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from devhost.connections import DEFAULT_DATA_DIR, connections_path
from shared.errors import OrchestratorError

if TYPE_CHECKING:
    from devhost.home import Devhost

log = logging.getLogger(__name__)

# The functions host's default; repeated here so that `python -m devhost --help` imports no server code.
DEFAULT_HTTP_PORT = 7071

LABELS = {
    "http": "Functions HTTP API",
    "storage_blob_endpoint": "Blob Storage (Azurite)",
    "servicebus_endpoint": "Service Bus broker",
    "management": "Durable management API",
    "foundry": "Local foundry",
    "dashboard": "Ops dashboard",
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `up` subcommand."""
    parser = subparsers.add_parser(
        "up",
        help="start Azurite, the broker, the durable engine, the local foundry and the app's triggers; keep running",
        description="Start the devhost and keep it running until Ctrl-C or SIGTERM. Addresses and the local "
        "emulators' connection strings are written to <data-dir>/connections.json (mode 0600).",
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="state directory (default: .devhost)")
    parser.add_argument("--http-port", type=int, default=DEFAULT_HTTP_PORT, help="Functions HTTP port (0: any free)")
    parser.add_argument(
        "--dashboard-port", type=int, default=None, help="ops dashboard port (default: 7080; 0: any free port)"
    )
    parser.add_argument("--poll-interval", type=float, default=2.0, help="seconds between blob polls (default: 2)")
    parser.add_argument("--no-timers", action="store_true", help="do not run the app's timer triggers")
    parser.add_argument(
        "--virtual-clock",
        action="store_true",
        help="durable timers fire as soon as the engine is idle (a 6-hour wait passes at once): for demos and tests",
    )
    parser.add_argument("--app", default="function_app:app", help="module:attribute of the Functions app")
    parser.set_defaults(handler=run)


def describe(home: Devhost) -> str:
    """What a person needs to use the running devhost: addresses and routes, never a key."""
    from devhost.functions_host.discovery import HttpBinding  # noqa: PLC0415 (the CLI stays light)

    lines = [f"devhost is up (state in {home.data_dir})"]
    for key, label in LABELS.items():
        if key in home.addresses:
            lines.append(f"  {label:<24} {home.addresses[key]}")
    if home.functions is not None:
        base = home.addresses.get("http", "")
        for trigger in home.functions.of_kind("http"):
            binding = trigger.binding
            assert isinstance(binding, HttpBinding)
            lines.append(f"    {','.join(binding.methods):<10} {base}/api/{binding.route}  ({trigger.name})")
        for trigger in home.functions.triggers:
            if trigger.kind != "http":
                lines.append(f"    {trigger.kind:<10} {trigger.name}")
    if home.options.write_connections_file:
        lines.append(f"  connection strings: {connections_path(home.data_dir)} (mode 0600)")
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Start, announce, wait for a stop signal, stop cleanly."""
    from devhost.home import Devhost, DevhostOptions  # noqa: PLC0415 (the CLI stays light)
    from devhost.logs import configure_devhost_logging  # noqa: PLC0415 (the CLI stays light)

    configure_devhost_logging()
    if args.http_port < 0 or args.http_port > 65535 or args.poll_interval <= 0:
        print("error: --http-port must be 0-65535 and --poll-interval positive", file=sys.stderr)
        return 2
    if args.dashboard_port is not None and not 0 <= args.dashboard_port <= 65535:
        print("error: --dashboard-port must be 0-65535", file=sys.stderr)
        return 2
    options = DevhostOptions(
        data_dir=args.data_dir,
        http_port=args.http_port,
        app_ref=args.app,
        poll_interval_s=args.poll_interval,
        timers=not args.no_timers,
        virtual_clock=args.virtual_clock,
        dashboard_port=args.dashboard_port,
    )
    stopping = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if stopping.is_set():
            # A second Ctrl-C: leave now; the next `up` ends what this one leaves behind.
            os._exit(128 + signum)
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    home: Devhost = Devhost(options)
    try:
        home.start()
    except OrchestratorError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        print(describe(home), flush=True)
        stopping.wait()
        print("stopping the devhost...", flush=True)
    finally:
        home.stop()
    print("the devhost has stopped", flush=True)
    return 0
