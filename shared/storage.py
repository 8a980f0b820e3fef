"""The `BlobStore` port: what the service needs of Blob Storage.

The adapter over `azure-storage-blob` lives beside it (`AzureBlobStore`); unit tests use an in-memory
fake implementing the same port.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, Field

DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024


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
