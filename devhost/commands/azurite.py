"""`python -m devhost azurite`: run Azurite (Blob Storage) alone and print its connection string."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from devhost.azurite import DEFAULT_AZURITE_DIR, AzuriteError, start_azurite
from shared.errors import ConfigurationError

DEFAULT_PORT = 10000


def register(subparsers: Any) -> None:
    """Add the `azurite` subcommand."""
    parser = subparsers.add_parser(
        "azurite",
        help="run Azurite (the Blob Storage emulator) alone",
        description="Run Azurite's blob service on 127.0.0.1 and print the connection string of the "
        "development account. Blobs are kept in DATA_DIR and survive a restart. Stop it with Ctrl+C.",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any free)")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_AZURITE_DIR, help=f"default {DEFAULT_AZURITE_DIR}")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted or until Azurite exits."""
    if not 0 <= args.port <= 65535:
        print(f"--port {args.port}: must be between 0 and 65535", file=sys.stderr)
        return 2
    try:
        server = start_azurite(args.data_dir, blob_port=args.port)
    except (ConfigurationError, AzuriteError) as error:
        print(f"cannot start Azurite: {error}", file=sys.stderr)
        return 1
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"Azurite blob service listening on {server.blob_endpoint} (data in {args.data_dir})", flush=True)
    print(server.connection_string, flush=True)
    try:
        while not stop.wait(1.0):
            if server.process.poll() is not None:
                print(f"Azurite exited with code {server.process.returncode}; see {server.log_path}", file=sys.stderr)
                return 1
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
