"""Arguments and error handling shared by the client subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from devhost.client import DevhostClient, DevhostNotRunningError, connect
from devhost.connections import DEFAULT_DATA_DIR

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    """`--data-dir`: where the running devhost keeps `connections.json`."""
    parser.add_argument(
        "--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="the devhost's state directory (default: .devhost)"
    )


def with_client(args: argparse.Namespace, action: Callable[[DevhostClient], int]) -> int:
    """Run `action` against the devhost of `args.data_dir`; a devhost that is not running is exit 1."""
    try:
        with connect(args.data_dir) as client:
            return action(client)
    except DevhostNotRunningError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED


def exit_code_for(status_code: int) -> int:
    """2 for a request the API refused as malformed, else 1 for any other failure, 0 for success."""
    if 200 <= status_code < 300:
        return EXIT_OK
    return EXIT_USAGE if status_code == 400 else EXIT_FAILED
