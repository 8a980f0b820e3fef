from __future__ import annotations

import pytest
from azure.storage.blob import ExponentialRetry

from shared.errors import ConfigurationError
from shared.etags import quoted_etag
from shared.settings import Settings
from shared.storage import AzureBlobStore, blob_store_from_settings

CONNECTION_STRING = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=c2VjcmV0;"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
)


def test_connection_string_settings_give_a_pinned_client_with_the_declared_retry_policy() -> None:
    store = blob_store_from_settings(
        Settings(storage_connection_string=CONNECTION_STRING, storage_retry_total=7, storage_api_version="2025-05-05")
    )
    client = store._client()
    assert client.api_version == "2025-05-05"
    policy = client._config.retry_policy
    assert isinstance(policy, ExponentialRetry)
    assert policy.total_retries == 7
    assert store.url("training-data", "a.jsonl") == "http://127.0.0.1:10000/devstoreaccount1/training-data/a.jsonl"


def test_an_account_url_gives_an_identity_client_built_only_on_first_use() -> None:
    store = blob_store_from_settings(
        Settings(storage_account_url="https://acct.blob.core.windows.net", azure_client_id="00000000-0000-0000-0000-1")
    )
    assert store._service is None
    assert store.url("training-data", "x y.jsonl") == "https://acct.blob.core.windows.net/training-data/x%20y.jsonl"
    credential = store._client().credential
    assert type(credential).__name__ == "DefaultAzureCredential"


def test_the_connection_string_wins_when_both_are_set() -> None:
    store = blob_store_from_settings(
        Settings(storage_connection_string=CONNECTION_STRING, storage_account_url="https://acct.blob.core.windows.net")
    )
    assert store.url("c", "n").startswith("http://127.0.0.1:10000/")


def test_no_storage_settings_name_both_variables() -> None:
    with pytest.raises(ConfigurationError, match=r"STORAGE_ACCOUNT_URL.*STORAGE_CONNECTION_STRING"):
        blob_store_from_settings(Settings())


def test_the_adapter_needs_exactly_one_way_in() -> None:
    with pytest.raises(ConfigurationError, match="exactly one"):
        AzureBlobStore()
    with pytest.raises(ConfigurationError, match="exactly one"):
        AzureBlobStore(connection_string=CONNECTION_STRING, account_url="https://a.blob.core.windows.net")


def test_the_key_never_shows_in_the_adapters_repr() -> None:
    assert "c2VjcmV0" not in repr(vars(AzureBlobStore(connection_string=CONNECTION_STRING)))


def test_listing_etags_are_quoted_like_header_etags() -> None:
    assert quoted_etag("0x8DC1") == '"0x8DC1"'
    assert quoted_etag('"0x8DC1"') == '"0x8DC1"'
