"""`python -m devhost validate FILE`: check a training file before uploading it.

Exit 0 when valid (warnings allowed), 1 when invalid, 2 on a usage error. `--json` prints only the report
(with `--validation`, an object `{"valid", "training", "validation"}`) on stdout. Imports nothing heavy: no
torch, no Azure SDKs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from shared.errors import InvalidOptionsError
from shared.settings import Settings
from shared.validation import ValidationConfig, ValidationReport, validate_path

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_USAGE = 2


def register(subparsers: Any) -> None:
    """Add the `validate` subcommand."""
    parser = subparsers.add_parser(
        "validate",
        help="validate a chat JSONL training file (format, tokens, duplicates, secrets, cost)",
        description="Validate a chat-format JSONL training file the way a run would. "
        "Exit 0 valid, 1 invalid, 2 usage error.",
    )
    parser.add_argument("file", type=Path, help="the training .jsonl file")
    parser.add_argument("--json", action="store_true", help="print only the report as JSON on stdout")
    parser.add_argument("--base-model", help="base model (default: DEFAULT_BASE_MODEL)")
    parser.add_argument("--validation", type=Path, help="a validation .jsonl file to check too")
    parser.add_argument("--epochs", type=int, help="training epochs for the cost estimate (default: DEFAULT_EPOCHS)")
    parser.set_defaults(handler=run)


def _usage_error(message: str) -> int:
    print(f"python -m devhost validate: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def run(args: argparse.Namespace) -> int:
    """Validate the file(s), print the report(s), return the exit code."""
    files: list[tuple[str, Path]] = [("training", args.file)]
    if args.validation is not None:
        files.append(("validation", args.validation))
    for _, path in files:
        if not path.is_file():
            return _usage_error(f"{path}: no such file")
    if args.epochs is not None and args.epochs < 1:
        return _usage_error("--epochs must be at least 1")
    settings = Settings()
    try:
        config = ValidationConfig.from_settings(settings, base_model=args.base_model, epochs=args.epochs)
    except InvalidOptionsError as error:
        return _usage_error(str(error))
    reports: dict[str, ValidationReport] = {}
    for role, path in files:
        file_config = config if role == "training" else config.for_validation_file()
        reports[role] = validate_path(path, file_config)
    valid = all(report.valid for report in reports.values())
    if args.json:
        payload: dict[str, Any]
        if len(reports) == 1:
            payload = reports["training"].model_dump(mode="json")
        else:
            payload = {"valid": valid, **{role: r.model_dump(mode="json") for role, r in reports.items()}}
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    else:
        from devhost.commands._validate_view import print_report  # noqa: PLC0415 - rich only for people

        for role, path in files:
            print_report(reports[role], title=f"{role} file {path}")
    return EXIT_VALID if valid else EXIT_INVALID
