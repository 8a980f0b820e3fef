"""`python -m devhost status [RUN] [--json]`: the runs of a running devhost, or one run in detail."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any
from urllib.parse import quote

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from devhost.client import DevhostClient
from devhost.commands._client_args import EXIT_OK, add_data_dir, exit_code_for, with_client

_STATE_STYLES = {"succeeded": "green", "failed": "red", "canceled": "yellow", "rejected": "red"}


def register(subparsers: Any) -> None:
    """Add the `status` subcommand."""
    parser = subparsers.add_parser(
        "status",
        help="list runs, or show one run (stage, history of stages, reports)",
        description="Show the runs of the running devhost (GET /api/runs), or one run (GET /api/runs/RUN). "
        "Exit 0 on success, 1 when the run does not exist or the devhost is not running, 2 on a bad request.",
    )
    parser.add_argument("run", nargs="?", help="a run id (ft-<name>-<12 hex>); all runs when omitted")
    parser.add_argument("--json", action="store_true", help="print the API's JSON instead of a table")
    parser.add_argument("--state", help="only runs in this state or stage (list only)")
    parser.add_argument("--family", help="only runs of this model family (list only)")
    add_data_dir(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Fetch and print."""
    return with_client(args, lambda client: _status(client, args))


def _status(client: DevhostClient, args: argparse.Namespace) -> int:
    if args.run:
        reply = client.request("GET", f"runs/{quote(args.run, safe='')}")
    else:
        filters = {key: value for key, value in (("state", args.state), ("family", args.family)) if value}
        reply = client.request("GET", "runs", params=filters or None)
    if not reply.ok:
        print(f"error: {reply.error_message()}", file=sys.stderr)
        return exit_code_for(reply.status_code)
    if args.json:
        print(json.dumps(reply.payload, indent=2))
        return EXIT_OK
    console = Console()
    if args.run:
        _print_run(console, reply.payload)
    else:
        _print_runs(console, reply.payload)
    return EXIT_OK


def _styled(state: str | None) -> str:
    text = escape(state or "-")
    style = _STATE_STYLES.get(text)
    return f"[{style}]{text}[/{style}]" if style else text


def _took(started: object, ended: object) -> str:
    """How long a stage took (or has been running: `...`), from its ISO 8601 times."""
    try:
        start = datetime.fromisoformat(str(started))
    except ValueError:
        return "-"
    if not ended:
        return "..."
    try:
        seconds = (datetime.fromisoformat(str(ended)) - start).total_seconds()
    except (TypeError, ValueError):
        return "-"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _print_runs(console: Console, payload: dict[str, Any]) -> None:
    runs = payload.get("runs", [])
    if not runs:
        console.print("no runs yet: upload a .jsonl file with `python -m devhost submit FILE`")
        return
    table = Table(title=f"{len(runs)} run(s)")
    table.add_column("run", no_wrap=True)  # ids stay whole, for copy and paste
    for column in ("state", "stage", "family", "created"):
        table.add_column(column, overflow="fold")
    table.add_column("detail", overflow="fold", min_width=16)
    for item in runs:
        table.add_row(
            escape(item.get("runId") or "-"),
            _styled(item.get("state")),
            escape(item.get("stage") or "-"),
            escape(item.get("family") or "-"),
            escape((item.get("createdTime") or "-")[:16].replace("T", " ")),
            escape(item.get("detail") or ""),
        )
    console.print(table)


def _print_run(console: Console, item: dict[str, Any]) -> None:
    summary = Table(show_header=False, title=escape(str(item.get("runId"))))
    summary.add_column("field", style="bold")
    summary.add_column("value", overflow="fold")
    summary.add_row("state", _styled(item.get("state")))
    fields = [
        ("stage", item.get("stage")),
        ("runtime status", item.get("runtimeStatus")),
        ("family", item.get("family")),
        ("detail", item.get("detail")),
        ("training job", item.get("jobName")),
        ("deployment", item.get("deploymentName")),
        ("created", item.get("createdTime")),
        ("updated", item.get("lastUpdatedTime")),
    ]
    for name, value in fields:
        if value:
            summary.add_row(name, escape(str(value)))
    console.print(summary)
    stages = item.get("stages") or []
    if stages:
        table = Table(title="stages")
        for column in ("stage", "state", "started", "took", "detail"):
            table.add_column(column, overflow="fold")
        for stage in stages:
            if isinstance(stage, dict):
                table.add_row(
                    escape(str(stage.get("stage", "-"))),
                    _styled(stage.get("state")),
                    escape(str(stage.get("started_at") or "-")[:19].replace("T", " ")),
                    _took(stage.get("started_at"), stage.get("ended_at")),
                    escape(str(stage.get("detail") or "")),
                )
        console.print(table)
    reports = item.get("reports") or {}
    if reports:
        console.print("reports:")
        for name, url in reports.items():
            console.print(f"  {escape(str(name))}: {escape(str(url))}", soft_wrap=True)
