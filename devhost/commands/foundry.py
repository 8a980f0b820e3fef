"""`python -m devhost foundry`: run the local foundry alone (fine-tuning on the CPU, OpenAI-compatible serving)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from devhost.local_foundry.config import FoundryConfig, FoundryFaults
from shared.errors import ConfigurationError
from shared.settings import Settings


def register(subparsers: Any) -> None:
    """Add the `foundry` subcommand."""
    parser = subparsers.add_parser(
        "foundry",
        help="run the local foundry alone (real LoRA fine-tunes on the CPU, chat endpoints)",
        description="Serve the local foundry's management API (/api/...) and its deployments' "
        "OpenAI-compatible endpoints on 127.0.0.1. Jobs, models, deployments and keys are kept in DATA_DIR "
        "and survive a restart. Settings: LOCAL_FOUNDRY_* and STORAGE_CONNECTION_STRING (for blob URLs); "
        "faults: LOCAL_FOUNDRY_FAULT_*. Stop it with Ctrl+C.",
    )
    parser.add_argument("--port", type=int, default=None, help="port (default: the port of LOCAL_FOUNDRY_URL)")
    parser.add_argument("--data-dir", type=Path, default=None, help="default: LOCAL_FOUNDRY_DATA_DIR")
    parser.add_argument("--verbose", action="store_true", help="log every HTTP request")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    from devhost.local_foundry.server import LocalFoundry  # noqa: PLC0415 - torch and the SDKs load only when serving

    try:
        settings = Settings()
        faults = FoundryFaults()
    except (ConfigurationError, ValueError) as error:
        print(f"bad settings: {error}", file=sys.stderr)
        return 2
    port = args.port if args.port is not None else urlsplit(settings.local_foundry_url).port or 7081
    if not 0 <= port <= 65535:
        print(f"--port {port}: must be between 0 and 65535", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    storage = settings.storage_connection_string
    foundry = LocalFoundry(
        args.data_dir or Path(settings.local_foundry_data_dir),
        port=port,
        storage_connection_string=storage.get_secret_value() if storage else None,
        faults=faults,
        config=FoundryConfig.from_settings(settings),
        log_requests=args.verbose,
    )
    try:
        foundry.start()
    except OSError as error:
        print(f"cannot start the local foundry on 127.0.0.1:{port}: {error.strerror or error}", file=sys.stderr)
        return 1
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"Local foundry listening on {foundry.url} (data in {foundry.data_dir})", flush=True)
    print(f"Management key (LOCAL_FOUNDRY_KEY): {foundry.data_dir / 'management' / 'api.key'}", flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        foundry.stop()
    return 0
