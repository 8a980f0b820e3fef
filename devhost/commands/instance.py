"""`python -m devhost instance ID [--history] [--json]`: one durable instance as the engine sees it.

Reads the running devhost's management API address from `connections.json` and shows the instance's
runtime status, custom status, output, and (when it failed) the exception's type, message and traceback;
`--history` adds its history events. Exit 0 when shown, 1 when the instance or the devhost is missing.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any
from urllib.parse import quote

import httpx

from devhost.commands._client_args import EXIT_FAILED, EXIT_OK, add_data_dir
from devhost.connections import connections_path, read_connections
from shared.errors import ConfigurationError

MANAGEMENT_KEY = "management"
_HIDDEN_HISTORY_KEYS = ("Timestamp", "EventType", "EventId")


def register(subparsers: Any) -> None:
    """Add the `instance` subcommand."""
    parser = subparsers.add_parser(
        "instance",
        help="show a durable orchestration instance: status, failure with traceback, history",
        description="Show one orchestration instance from the durable engine of the running devhost. "
        "Exit 0 when shown, 1 when the instance or the devhost is missing.",
    )
    parser.add_argument("instance_id", metavar="ID", help="the instance id (a run id, or a sub-orchestration's id)")
    parser.add_argument("--history", action="store_true", help="also list the instance's history events")
    parser.add_argument("--json", action="store_true", help="print the management API's JSON")
    add_data_dir(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Fetch the instance from the management API and print it."""
    try:
        connections = read_connections(connections_path(args.data_dir))
    except ConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    base = (connections.model_extra or {}).get(MANAGEMENT_KEY)
    if not isinstance(base, str):
        print("error: the running devhost has no durable engine (no management address)", file=sys.stderr)
        return EXIT_FAILED
    params = {"showHistory": "true", "showHistoryOutput": "true"} if args.history else None
    try:
        response = httpx.get(f"{base}instances/{quote(args.instance_id, safe='')}", params=params, timeout=30)
    except httpx.HTTPError as error:
        print(f"error: the devhost's management API at {base} did not answer: {error}", file=sys.stderr)
        return EXIT_FAILED
    if response.status_code == 404:
        print(f"error: no orchestration instance with id {args.instance_id!r}", file=sys.stderr)
        return EXIT_FAILED
    status = response.json()
    if args.json:
        print(json.dumps(status, indent=2))
        return EXIT_OK
    print(describe(status))
    return EXIT_OK


def describe(status: dict[str, Any]) -> str:
    """The status as text for a person: what it is, where it stands, and why it failed."""
    lines = [
        f"{status['instanceId']}  {status['name']}  {status['runtimeStatus']}",
        f"created {status['createdTime']}  updated {status['lastUpdatedTime']}",
    ]
    if status.get("customStatus") is not None:
        lines.append(f"custom status: {json.dumps(status['customStatus'])}")
    if status.get("output") is not None:
        lines.append(f"output: {json.dumps(status['output'])}")
    failure = status.get("failureDetails")
    if failure:
        lines.append(f"failed ({failure['kind']}): {failure['error_type']}: {failure['message']}")
        if failure.get("stack_trace"):
            lines.append(failure["stack_trace"].rstrip())
    for item in status.get("historyEvents") or []:
        details = {key: value for key, value in item.items() if key not in _HIDDEN_HISTORY_KEYS and value is not None}
        lines.append(f"  {item['Timestamp']}  {item['EventType']:<28} {json.dumps(details)}")
    return "\n".join(lines)
