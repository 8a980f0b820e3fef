"""Validation and preparation streamed from a real blob download (Azurite), chunk by chunk."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from shared.storage import AzureBlobStore
from shared.validation import ValidationConfig, prepare_datasets, validate_chunks, validate_path

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CONFIG = ValidationConfig(base_model="Phi-3-mini-4k-instruct", context_length=4096)


def test_a_blob_download_gives_the_same_report_as_the_local_file(
    azurite_blob_store: AzureBlobStore, blob_container_name: str, tmp_path: Path
) -> None:
    sample = (EXAMPLES / "xbox-support.jsonl").read_bytes().splitlines()
    # ~200 KB, so the download arrives in several 64 KiB chunks that cut lines (and a secret) in two.
    lines = [json.dumps({**json.loads(sample[i % len(sample)]), "id": i}).encode() for i in range(500)]
    secret = json.loads(sample[0])
    secret["messages"][1]["content"] = "my key is AccountKey=" + "c2VjcmV0" * 12 + "== please help"
    lines[321] = json.dumps(secret).encode()
    data = b"\n".join(lines) + b"\n"
    local = tmp_path / "train.jsonl"
    local.write_bytes(data)
    azurite_blob_store.ensure_container(blob_container_name)
    azurite_blob_store.upload(blob_container_name, "uploads/train.jsonl", data)

    streamed = validate_chunks(azurite_blob_store.download_chunks(blob_container_name, "uploads/train.jsonl"), CONFIG)

    assert streamed == validate_path(local, CONFIG)
    assert [(f.code, f.line) for f in streamed.errors] == [("secret_detected", 322)]
    assert streamed.stats.examples == 500
    assert "c2VjcmV0" not in streamed.model_dump_json()


def test_prepared_sets_can_be_written_from_a_blob_download(
    azurite_blob_store: AzureBlobStore, blob_container_name: str
) -> None:
    azurite_blob_store.ensure_container(blob_container_name)
    azurite_blob_store.upload(blob_container_name, "xbox.jsonl", (EXAMPLES / "xbox-support.jsonl").read_bytes())
    train, validation = io.BytesIO(), io.BytesIO()
    result = prepare_datasets(
        azurite_blob_store.download_chunks(blob_container_name, "xbox.jsonl"), None, 0.2, "ft-run", train, validation
    )
    local_train, local_validation = io.BytesIO(), io.BytesIO()
    local = prepare_datasets(
        [(EXAMPLES / "xbox-support.jsonl").read_bytes()], None, 0.2, "ft-run", local_train, local_validation
    )
    assert result.ok
    assert result == local
    assert (train.getvalue(), validation.getvalue()) == (local_train.getvalue(), local_validation.getvalue())
    assert validate_chunks([train.getvalue()], CONFIG).valid
