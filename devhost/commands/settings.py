"""`python -m devhost settings [--markdown]`: every setting of the service, its env name and default."""

from __future__ import annotations

import argparse
from typing import Any

from pydantic_core import PydanticUndefined
from rich.console import Console
from rich.table import Table

from shared.settings import Settings


def register(subparsers: Any) -> None:
    """Add the `settings` subcommand."""
    parser = subparsers.add_parser("settings", help="list every setting (env name, default, meaning)")
    parser.add_argument("--markdown", action="store_true", help="print the README's Markdown table")
    parser.set_defaults(handler=run)


def settings_rows() -> list[tuple[str, str, str]]:
    """(env name, default, description) of every setting, in declaration order."""
    rows = []
    for name, field in Settings.model_fields.items():
        if field.default_factory is not None:
            default = "(see description)"
        elif field.default is PydanticUndefined or field.default is None:
            default = ""
        else:
            default = str(field.default)
        rows.append((name.upper(), default, field.description or ""))
    return rows


def settings_markdown() -> str:
    """The settings as the README's Markdown table."""
    lines = ["| env name | default | meaning |", "|---|---|---|"]
    lines += [f"| `{env}` | {f'`{default}`' if default else ''} | {text} |" for env, default, text in settings_rows()]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    """Print the table."""
    if args.markdown:
        print(settings_markdown(), end="")
        return 0
    table = Table("env name", "default", "meaning", title="Settings (environment variables / app settings)")
    for row in settings_rows():
        table.add_row(*row)
    Console().print(table)
    return 0
