"""`python -m devhost submit FILE [--set option=value ...]`: upload a training file to a running devhost.

The file goes to the `training-data` container through the storage adapter, with each option as blob
metadata `ft_<option>=value` (what upload automation does in Azure); the blob trigger starts its run. The
run id is printed at once: it is derived from the container, the blob name and the new ETag.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from devhost.client import DevhostClient
from devhost.commands._client_args import EXIT_OK, EXIT_USAGE, add_data_dir, with_client
from shared.errors import InvalidOptionsError, OrchestratorError
from shared.names import OPTION_METADATA_PREFIX
from shared.runs import check_blob_name, resolve_options, run_id_for
from shared.settings import get_settings

READ_CHUNK_BYTES = 1024 * 1024
JSONL_CONTENT_TYPE = "application/jsonl"


def register(subparsers: Any) -> None:
    """Add the `submit` subcommand."""
    parser = subparsers.add_parser(
        "submit",
        help="upload a .jsonl training file to the running devhost; prints the run id it starts",
        description="Upload FILE to the training-data container of the running devhost with its options as "
        "blob metadata (ft_<option>); the blob trigger starts the run. Exit 0 uploaded, 1 the devhost is not "
        "running or the upload failed, 2 on a usage error (missing file, bad option).",
    )
    parser.add_argument("file", type=Path, help="the chat-format .jsonl training file")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="OPTION=VALUE",
        dest="options",
        help="a run option, e.g. --set epochs=2 --set require_approval=true (repeatable)",
    )
    parser.add_argument("--family", help="the model family (alias) to promote; default: first folder or file stem")
    parser.add_argument("--name", help="blob name in training-data (default: the file's name)")
    add_data_dir(parser)
    parser.set_defaults(handler=run)


def parse_options(pairs: list[str], family: str | None) -> dict[str, str]:
    """`option=value` pairs (and `--family`) as a dict; a malformed pair raises `InvalidOptionsError`."""
    options: dict[str, str] = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        name = name.strip().lower()
        if not separator or not name:
            raise InvalidOptionsError(f"--set {pair!r}: expected OPTION=VALUE, e.g. --set epochs=2")
        if name.startswith(OPTION_METADATA_PREFIX):
            name = name[len(OPTION_METADATA_PREFIX) :]
        options[name] = value.strip()
    if family is not None:
        options["family"] = family
    return options


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(READ_CHUNK_BYTES):
            yield chunk


def run(args: argparse.Namespace) -> int:
    """Check the inputs, then upload."""
    path: Path = args.file
    if not path.is_file():
        print(f"error: {path}: no such file", file=sys.stderr)
        return EXIT_USAGE
    blob_name = args.name or path.name
    try:
        check_blob_name(blob_name)
        if not blob_name.lower().endswith(".jsonl"):
            raise InvalidOptionsError(f"blob name {blob_name!r}: only .jsonl files start runs (use --name NAME.jsonl)")
        options = parse_options(args.options, args.family)
        resolve_options(get_settings(), blob_name, options)
    except InvalidOptionsError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    return with_client(args, lambda client: _upload(client, path, blob_name, options))


def _upload(client: DevhostClient, path: Path, blob_name: str, options: dict[str, str]) -> int:
    from shared.storage import AzureBlobStore  # noqa: PLC0415 (the Azure SDK only when uploading)

    client.request("GET", "health")  # fails fast with "not running" before any storage retries
    container = get_settings().training_container
    metadata = {f"{OPTION_METADATA_PREFIX}{name}": value for name, value in options.items()}
    store = AzureBlobStore(connection_string=client.connections.storage)
    try:
        store.upload(container, blob_name, _chunks(path), content_type=JSONL_CONTENT_TYPE, metadata=metadata)
        info = store.get_info(container, blob_name)
    except OrchestratorError as error:
        print(f"error: uploading {path} to {container}/{blob_name} failed: {error}", file=sys.stderr)
        return 1
    finally:
        store.close()
    run_id = run_id_for(container, blob_name, info.etag)
    print(f"uploaded {path} to {container}/{blob_name} ({info.size} bytes)")
    print(f"run id: {run_id}")
    print(f"follow it: python -m devhost status {run_id}")
    return EXIT_OK
