"""The `python -m devhost` command line.

Each subcommand lives in its own module under `devhost/commands/` and exposes
`register(subparsers)`, which adds its parser and sets `handler` (a function of the parsed arguments
returning the exit code). Exit codes: 0 success, 1 the thing checked failed, 2 usage error.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Sequence

COMMAND_MODULES: tuple[str, ...] = (
    "devhost.commands.azurite",
    "devhost.commands.broker",
    "devhost.commands.events",
    "devhost.commands.up",
    "devhost.commands.status",
    "devhost.commands.run_commands",
    "devhost.commands.submit",
    "devhost.commands.validate",
    "devhost.commands.instance",
    "devhost.commands.demo",
    "devhost.commands.settings",
    "devhost.commands.dashboard",
    "devhost.commands.foundry",
)

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    """The parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="python -m devhost",
        description="Run the Phi-3 fine-tuning orchestrator on one machine (Azurite, a local Service Bus "
        "broker, the durable engine and a local foundry).",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments and run the chosen subcommand; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130
