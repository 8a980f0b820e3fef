"""`python -m devhost broker`: run the local Service Bus broker alone and print its connection string."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from devhost.servicebus_broker import Broker

DEFAULT_PORT = 5672
DEFAULT_DATA_DIR = Path(".devhost") / "servicebus"


def register(subparsers: Any) -> None:
    """Add the `broker` subcommand."""
    parser = subparsers.add_parser(
        "broker",
        help="run the local Service Bus broker alone",
        description="Run the local AMQP 1.0 Service Bus broker on 127.0.0.1 and print its connection string. "
        "Messages are kept in DATA_DIR and survive a restart. Stop it with Ctrl+C.",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any free)")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help=f"default {DEFAULT_DATA_DIR}")
    parser.add_argument("--key", default=None, help="shared access key (default: a random one)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    if not 0 <= args.port <= 65535:
        print(f"--port {args.port}: must be between 0 and 65535", file=sys.stderr)
        return 2
    broker = Broker(port=args.port, data_dir=args.data_dir, key=args.key)
    try:
        broker.start()
    except OSError as error:
        print(f"cannot start the broker: {error}", file=sys.stderr)
        return 1
    stop = threading.Event()
    # Both signals set the event explicitly: a shell starts background jobs with SIGINT ignored.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, lambda *_: stop.set())
    print(f"Service Bus broker listening on 127.0.0.1:{broker.port} (data in {args.data_dir})", flush=True)
    print(broker.connection_string.get_secret_value(), flush=True)
    try:
        stop.wait()
    finally:
        broker.stop()
    return 0
