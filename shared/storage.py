"""The `BlobStore` port: what the service needs of Blob Storage.

The adapter over `azure-storage-blob` lives beside it (`AzureBlobStore`); unit tests use an in-memory
fake implementing the same port.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from azure.core import MatchConditions
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.identity import DefaultAzureCredential
from azure.storage.blob import BlobProperties, BlobServiceClient, ContentSettings, ExponentialRetry
from pydantic import BaseModel, Field, SecretStr

from shared.errors import (
    BlobNotFoundError,
    ConfigurationError,
    ETagConflictError,
    PermanentError,
    TransientError,
)
from shared.etags import quoted_etag

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from shared.settings import Settings

DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024
DEFAULT_API_VERSION = "2025-11-05"
_TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})


class BlobInfo(BaseModel):
    """What the service knows about one blob without reading it."""

    container: str
    name: str
    etag: str
    size: int
    last_modified: datetime
    content_type: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)


class BlobStore(Protocol):
    """Blob Storage as the service uses it. Every method raises `BlobNotFoundError` for a missing blob."""

    def ensure_container(self, container: str) -> None:
        """Create the container if it does not exist."""
        ...

    def get_info(self, container: str, name: str) -> BlobInfo:
        """Properties and metadata of a blob."""
        ...

    def download_chunks(self, container: str, name: str, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[bytes]:
        """The blob's bytes in chunks, streamed: memory does not grow with the blob's size."""
        ...

    def read_bytes(self, container: str, name: str) -> tuple[bytes, str]:
        """A small blob's whole content and its ETag."""
        ...

    def upload(
        self,
        container: str,
        name: str,
        data: bytes | Iterable[bytes],
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
        if_match: str | None = None,
        if_none_match_any: bool = False,
    ) -> str:
        """Write a blob and return its new ETag.

        `if_match` writes only over that ETag and `if_none_match_any` only when the blob does not exist;
        either condition failing raises `ETagConflictError`.
        """
        ...

    def set_tags(self, container: str, name: str, tags: dict[str, str]) -> None:
        """Merge these index tags into the blob's tags."""
        ...

    def get_tags(self, container: str, name: str) -> dict[str, str]:
        """The blob's index tags."""
        ...

    def list_blobs(self, container: str, prefix: str = "") -> Iterator[BlobInfo]:
        """Blobs of a container whose names start with `prefix`, with metadata."""
        ...

    def url(self, container: str, name: str) -> str:
        """The blob's URL, without any credential or SAS."""
        ...


class AzureBlobStore:
    """`BlobStore` over `azure-storage-blob`: Azurite on the devhost, a Storage account in Azure.

    Give either a connection string (devhost) or an account URL (Azure; the credential defaults to
    `DefaultAzureCredential`, which uses the managed identity `managed_identity_client_id` in Azure).
    The SDK client is built on first use, never at import or construction time. Failed requests are
    retried by the SDK's `ExponentialRetry` policy; what still fails is translated into
    `shared.errors` types whose messages name the blob but never a key or SAS.
    """

    def __init__(
        self,
        *,
        connection_string: SecretStr | str | None = None,
        account_url: str | None = None,
        credential: TokenCredential | None = None,
        managed_identity_client_id: str | None = None,
        api_version: str = DEFAULT_API_VERSION,
        retry_total: int = 5,
        retry_initial_backoff_s: int = 1,
        timeout_s: float = 60.0,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    ) -> None:
        if (connection_string is None) == (account_url is None):
            raise ConfigurationError("Blob Storage needs exactly one of a connection string or an account URL")
        if isinstance(connection_string, str):
            connection_string = SecretStr(connection_string)
        self._connection_string = connection_string
        self._account_url = account_url
        self._credential = credential
        self._managed_identity_client_id = managed_identity_client_id
        self._api_version = api_version
        self._retry_total = retry_total
        self._retry_initial_backoff_s = retry_initial_backoff_s
        self._timeout_s = timeout_s
        self._chunk_bytes = chunk_bytes
        self._lock = threading.Lock()
        self._service: BlobServiceClient | None = None

    def _client(self) -> BlobServiceClient:
        with self._lock:
            if self._service is None:
                self._service = self._build_client()
            return self._service

    def _build_client(self) -> BlobServiceClient:
        options: dict[str, Any] = {
            "api_version": self._api_version,
            "retry_policy": ExponentialRetry(
                initial_backoff=self._retry_initial_backoff_s,
                increment_base=2,
                retry_total=self._retry_total,
                random_jitter_range=1,
            ),
            "connection_timeout": self._timeout_s,
            "read_timeout": self._timeout_s,
            "max_block_size": self._chunk_bytes,
            "max_single_put_size": self._chunk_bytes,
            "max_single_get_size": self._chunk_bytes,
            "max_chunk_get_size": self._chunk_bytes,
        }
        if self._connection_string is not None:
            return BlobServiceClient.from_connection_string(self._connection_string.get_secret_value(), **options)
        credential = self._credential
        if credential is None:
            credential = DefaultAzureCredential(managed_identity_client_id=self._managed_identity_client_id)
        return BlobServiceClient(str(self._account_url), credential=credential, **options)

    def close(self) -> None:
        """Close the SDK client's connections (a later call builds a new client)."""
        with self._lock:
            if self._service is not None:
                self._service.close()
                self._service = None

    def ensure_container(self, container: str) -> None:
        """Create the container if it does not exist."""
        with _translated(container), suppress(ResourceExistsError):
            self._client().create_container(container)

    def get_info(self, container: str, name: str) -> BlobInfo:
        """Properties and metadata of a blob."""
        with _translated(container, name):
            return _blob_info(container, self._client().get_blob_client(container, name).get_blob_properties())

    def download_chunks(self, container: str, name: str, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[bytes]:
        """The blob's bytes in chunks of at most `chunk_bytes`, fetched range by range.

        A blob overwritten while being read raises `ETagConflictError` (the SDK pins the first ETag).
        """
        with _translated(container, name):
            downloader = self._client().get_blob_client(container, name).download_blob(max_concurrency=1)
            while chunk := downloader.read(chunk_bytes):
                yield chunk

    def read_bytes(self, container: str, name: str) -> tuple[bytes, str]:
        """A small blob's whole content and its ETag."""
        with _translated(container, name):
            downloader = self._client().get_blob_client(container, name).download_blob(max_concurrency=1)
            return downloader.readall(), quoted_etag(str(downloader.properties.etag))

    def upload(
        self,
        container: str,
        name: str,
        data: bytes | Iterable[bytes],
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
        if_match: str | None = None,
        if_none_match_any: bool = False,
    ) -> str:
        """Write a blob (an iterable is staged block by block, never joined) and return its new ETag."""
        if if_match is not None and if_none_match_any:
            raise ValueError("if_match and if_none_match_any exclude each other")
        conditions: dict[str, Any] = {"overwrite": not if_none_match_any}
        if if_match is not None:
            conditions |= {"etag": if_match, "match_condition": MatchConditions.IfNotModified}
        body = data if isinstance(data, bytes) else iter(data)
        with _translated(container, name):
            result = (
                self._client()
                .get_blob_client(container, name)
                .upload_blob(
                    body,
                    metadata=metadata,
                    content_settings=ContentSettings(content_type=content_type) if content_type else None,
                    max_concurrency=1,
                    **conditions,
                )
            )
        return quoted_etag(str(result["etag"]))

    def set_tags(self, container: str, name: str, tags: dict[str, str]) -> None:
        """Merge these index tags into the blob's tags (read, merge, write: last writer wins per key)."""
        with _translated(container, name):
            blob = self._client().get_blob_client(container, name)
            merged = blob.get_blob_tags() | tags
            blob.set_blob_tags(merged)

    def get_tags(self, container: str, name: str) -> dict[str, str]:
        """The blob's index tags."""
        with _translated(container, name):
            return dict(self._client().get_blob_client(container, name).get_blob_tags())

    def list_blobs(self, container: str, prefix: str = "") -> Iterator[BlobInfo]:
        """Blobs of a container whose names start with `prefix`, with metadata, page by page."""
        with _translated(container):
            client = self._client().get_container_client(container)
            for properties in client.list_blobs(name_starts_with=prefix or None, include=["metadata"]):
                yield _blob_info(container, properties)

    def url(self, container: str, name: str) -> str:
        """The blob's URL without any query (so never a SAS from the connection string)."""
        parts = urlsplit(self._client().get_blob_client(container, name).url)
        return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def blob_store_from_settings(settings: Settings) -> AzureBlobStore:
    """The Blob Storage adapter the settings describe: a connection string wins over an account URL."""
    common: dict[str, Any] = {
        "api_version": settings.storage_api_version,
        "retry_total": settings.storage_retry_total,
        "retry_initial_backoff_s": settings.storage_retry_initial_backoff_seconds,
        "timeout_s": settings.storage_timeout_seconds,
        "chunk_bytes": settings.storage_chunk_bytes,
    }
    if settings.storage_connection_string is not None:
        return AzureBlobStore(connection_string=settings.storage_connection_string, **common)
    if settings.storage_account_url:
        return AzureBlobStore(
            account_url=settings.storage_account_url,
            managed_identity_client_id=settings.azure_client_id,
            **common,
        )
    raise ConfigurationError(
        "Blob Storage is not configured: set STORAGE_ACCOUNT_URL (Azure, identity auth) or "
        "STORAGE_CONNECTION_STRING (devhost)"
    )


def _blob_info(container: str, properties: BlobProperties) -> BlobInfo:
    return BlobInfo(
        container=container,
        name=properties.name,
        etag=quoted_etag(str(properties.etag)),
        size=properties.size,
        last_modified=properties.last_modified,
        content_type=properties.content_settings.content_type,
        metadata=dict(properties.metadata or {}),
    )


@contextmanager
def _translated(container: str, name: str | None = None) -> Iterator[None]:
    """Turn what the SDK raises (after its retries) into the service's error types."""
    where = f"blob {container}/{name}" if name is not None else f"container {container}"
    try:
        yield
    except ResourceNotFoundError as exc:
        missing = f"container {container}" if _error_code(exc) == "ContainerNotFound" else where
        raise BlobNotFoundError(f"{missing} does not exist") from exc
    except ResourceModifiedError as exc:
        raise ETagConflictError(f"{where} changed since it was read ({_code(exc)})") from exc
    except ResourceExistsError as exc:
        if _error_code(exc) == "BlobAlreadyExists":
            raise ETagConflictError(f"{where} already exists") from exc
        raise PermanentError(f"{where}: Blob Storage refused the request ({_code(exc)})") from exc
    except HttpResponseError as exc:
        if exc.status_code in _TRANSIENT_STATUS:
            raise TransientError(f"{where}: Blob Storage is unavailable ({_code(exc)})") from exc
        raise PermanentError(f"{where}: Blob Storage refused the request ({_code(exc)})") from exc
    except (ServiceRequestError, ServiceResponseError) as exc:
        raise TransientError(f"{where}: Blob Storage could not be reached ({type(exc).__name__})") from exc


def _code(exc: HttpResponseError) -> str:
    return f"HTTP {exc.status_code} {_error_code(exc)}".strip()


def _error_code(exc: HttpResponseError) -> str:
    # azure-storage-blob sets `error_code` (a StorageErrorCode or a plain str); azure-core does not declare it.
    code = getattr(exc, "error_code", None)
    return str(code.value if isinstance(code, Enum) else code or "")
