"""What only the real adapter can show: blocks, SAS, keys, API versions, unreachable servers."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azure.storage.blob import AccountSasPermissions, BlobServiceClient, ResourceTypes, generate_account_sas

from devhost.azurite import ACCOUNT_KEY, ACCOUNT_NAME, AzuriteServer, start_azurite
from shared.errors import ETagConflictError, PermanentError, TransientError
from shared.settings import Settings
from shared.storage import DEFAULT_API_VERSION, AzureBlobStore, blob_store_from_settings
from tests.fixtures.azurite import TEST_CHUNK_BYTES

pytestmark = pytest.mark.integration

BLOCK = b"0123456789abcdef" * (TEST_CHUNK_BYTES // 16)


def _raw_client(azurite: AzuriteServer) -> BlobServiceClient:
    return BlobServiceClient.from_connection_string(azurite.connection_string, api_version=DEFAULT_API_VERSION)


def test_an_iterable_is_staged_block_by_block_while_it_is_being_produced(
    azurite: AzuriteServer, azurite_blob_store: AzureBlobStore, blob_container_name: str
) -> None:
    azurite_blob_store.ensure_container(blob_container_name)
    raw = _raw_client(azurite).get_blob_client(blob_container_name, "stream.bin")
    staged_before_each_chunk: list[int] = []

    def produce() -> Iterator[bytes]:
        for _ in range(4):
            staged = len(raw.get_block_list("uncommitted")[1]) if staged_before_each_chunk else 0
            staged_before_each_chunk.append(staged)
            yield BLOCK

    azurite_blob_store.upload(blob_container_name, "stream.bin", produce())
    assert staged_before_each_chunk == [0, 1, 2, 3]
    committed, _ = raw.get_block_list("committed")
    assert len(committed) == 4
    assert raw.download_blob().readall() == BLOCK * 4


def test_bytes_larger_than_a_chunk_are_uploaded_in_blocks(
    azurite: AzuriteServer, azurite_blob_store: AzureBlobStore, blob_container_name: str
) -> None:
    azurite_blob_store.ensure_container(blob_container_name)
    azurite_blob_store.upload(blob_container_name, "big.bin", BLOCK * 3)
    committed, _ = _raw_client(azurite).get_blob_client(blob_container_name, "big.bin").get_block_list("committed")
    assert len(committed) == 3


def test_a_blob_overwritten_during_a_chunked_download_raises_conflict(
    azurite_blob_store: AzureBlobStore, blob_container_name: str
) -> None:
    azurite_blob_store.ensure_container(blob_container_name)
    azurite_blob_store.upload(blob_container_name, "moving.bin", BLOCK * 3)
    chunks = azurite_blob_store.download_chunks(blob_container_name, "moving.bin", chunk_bytes=TEST_CHUNK_BYTES)
    assert next(chunks) == BLOCK
    azurite_blob_store.upload(blob_container_name, "moving.bin", b"replaced")
    with pytest.raises(ETagConflictError, match=r"moving\.bin"):
        list(chunks)


def test_a_sas_connection_string_works_and_the_url_never_carries_the_sas(
    azurite: AzuriteServer, blob_container_name: str
) -> None:
    sas = generate_account_sas(
        ACCOUNT_NAME,
        ACCOUNT_KEY,
        resource_types=ResourceTypes(service=True, container=True, object=True),
        permission=AccountSasPermissions(read=True, write=True, create=True, list=True, tag=True),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )
    store = AzureBlobStore(connection_string=f"BlobEndpoint={azurite.blob_endpoint};SharedAccessSignature={sas};")
    store.ensure_container(blob_container_name)
    store.upload(blob_container_name, "a.jsonl", b"{}\n")
    assert store.read_bytes(blob_container_name, "a.jsonl")[0] == b"{}\n"
    url = store.url(blob_container_name, "a.jsonl")
    assert url == f"{azurite.blob_endpoint}/{blob_container_name}/a.jsonl"
    assert "sig=" not in url


def test_a_wrong_key_is_refused_without_showing_the_key(azurite: AzuriteServer) -> None:
    wrong_key = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXk="
    store = AzureBlobStore(connection_string=azurite.connection_string.replace(ACCOUNT_KEY, wrong_key), retry_total=0)
    with pytest.raises(PermanentError, match="HTTP 403") as info:
        store.ensure_container("refused")
    assert wrong_key not in str(info.value)
    assert "wrong" not in repr(store.__dict__)


def test_an_unreachable_server_is_a_transient_error_after_the_retries() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    store = AzureBlobStore(
        connection_string=f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{closed_port}/{ACCOUNT_NAME};",
        retry_total=1,
        retry_initial_backoff_s=0,
        timeout_s=5,
    )
    with pytest.raises(TransientError, match="could not be reached") as info:
        store.get_info("training-data", "x.jsonl")
    assert ACCOUNT_KEY not in str(info.value)


def test_the_pinned_api_version_needs_no_skip_flag_where_the_sdk_default_is_refused(tmp_path: Path) -> None:
    with start_azurite(tmp_path, in_memory=True, skip_api_version_check=False) as strict:
        pinned = AzureBlobStore(connection_string=strict.connection_string)
        pinned.ensure_container("pinned")
        pinned.upload("pinned", "x", b"x")
        unpinned = AzureBlobStore(connection_string=strict.connection_string, api_version="2026-10-06", retry_total=0)
        with pytest.raises(PermanentError, match="HTTP 400"):
            unpinned.get_info("pinned", "x")


def test_the_settings_fixture_gives_each_test_its_own_service_containers(azurite_settings: Settings) -> None:
    store = blob_store_from_settings(azurite_settings)
    store.upload(azurite_settings.training_container, "a.jsonl", b"{}\n")
    assert [b.name for b in store.list_blobs(azurite_settings.training_container)] == ["a.jsonl"]
    assert list(store.list_blobs(azurite_settings.reports_container)) == []
    assert list(store.list_blobs(azurite_settings.state_container)) == []
    assert azurite_settings.training_container != "training-data"
