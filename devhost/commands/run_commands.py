"""`python -m devhost cancel|approve|reject|retry RUN [--reason TEXT]`: command a run of a running devhost."""

from __future__ import annotations

import argparse
import sys
from typing import Any
from urllib.parse import quote

from devhost.client import DevhostClient
from devhost.commands._client_args import EXIT_OK, add_data_dir, exit_code_for, with_client

COMMANDS = {
    "cancel": "cancel a run at any stage (a running training job is cancelled, a new deployment deleted)",
    "approve": "approve a run waiting for approval: it is promoted",
    "reject": "reject a run waiting for approval: its deployment is deleted",
    "retry": "start a new run with the same input as an ended run",
}


def register(subparsers: Any) -> None:
    """Add one subcommand per run command."""
    for command, help_text in COMMANDS.items():
        parser = subparsers.add_parser(
            command,
            help=help_text,
            description=f"{help_text[0].upper()}{help_text[1:]} (POST /api/runs/RUN/{command}). Exit 0 when "
            "accepted, 1 when the run does not exist, is in another state or the devhost is not running, "
            "2 on a bad request.",
        )
        parser.add_argument("run", help="the run id (ft-<name>-<12 hex>)")
        parser.add_argument("--reason", help="why (recorded with the command)")
        add_data_dir(parser)
        parser.set_defaults(handler=run, run_command=command)


def run(args: argparse.Namespace) -> int:
    """Send the command."""
    return with_client(args, lambda client: _send(client, args))


def _send(client: DevhostClient, args: argparse.Namespace) -> int:
    body = {"reason": args.reason} if args.reason else None
    reply = client.request("POST", f"runs/{quote(args.run, safe='')}/{args.run_command}", json_body=body)
    if not reply.ok:
        print(f"error: {args.run_command} {args.run}: {reply.error_message()}", file=sys.stderr)
        return exit_code_for(reply.status_code)
    result = reply.payload.get("result") if isinstance(reply.payload, dict) else None
    print(result or f"{args.run_command} sent to {args.run}")
    return EXIT_OK
