"""`InMemoryBlobStore`: the `BlobStore` port in memory, with the real adapter's ETag and error semantics.

The contract suite (`tests/contracts/blob_store.py`) runs the same tests against this fake and against
`AzureBlobStore` over Azurite, so unit tests that use the fake can trust it.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

from shared.errors import BlobNotFoundError, ETagConflictError, PermanentError
from shared.storage import DEFAULT_CHUNK_BYTES, BlobInfo

DEFAULT_CONTENT_TYPE = "application/octet-stream"
MAX_TAGS = 10
_CONTAINER_NAME = re.compile(r"^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass
class _Blob:
    data: bytes
    etag: str
    last_modified: datetime
    content_type: str
    metadata: dict[str, str]
    tags: dict[str, str] = field(default_factory=dict)


class InMemoryBlobStore:
    """A thread-safe `BlobStore` held in a dict; ETags change on every write, as in Azure."""

    def __init__(self, base_url: str = "http://127.0.0.1:10000/devstoreaccount1") -> None:
        self._base_url = base_url.rstrip("/")
        self._containers: dict[str, dict[str, _Blob]] = {}
        self._lock = threading.RLock()
        self._etags = itertools.count(0x8DC0000000000)
        self._faults: dict[str, list[Exception]] = {}

    def fail_next(self, operation: str, error: Exception, times: int = 1) -> None:
        """Make the next `times` calls of `operation` (a method name, e.g. "upload") raise `error`.

        For unit tests of retry and failure paths: e.g. `TransientError` for a throttled request.
        """
        if not callable(getattr(self, operation, None)) or operation.startswith("_"):
            raise ValueError(f"{operation!r} is not a BlobStore operation")
        self._faults.setdefault(operation, []).extend([error] * times)

    def _fault(self, operation: str) -> None:
        with self._lock:
            pending = self._faults.get(operation)
            if pending:
                raise pending.pop(0)

    def ensure_container(self, container: str) -> None:
        """Create the container if it does not exist."""
        self._fault("ensure_container")
        if not _CONTAINER_NAME.match(container):
            raise PermanentError(f"container {container}: Blob Storage refused the request (HTTP 400 InvalidName)")
        with self._lock:
            self._containers.setdefault(container, {})

    def get_info(self, container: str, name: str) -> BlobInfo:
        """Properties and metadata of a blob."""
        self._fault("get_info")
        with self._lock:
            return self._info(container, name, self._blob(container, name))

    def download_chunks(self, container: str, name: str, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[bytes]:
        """The blob's bytes as they were when the download started, in chunks of at most `chunk_bytes`."""
        self._fault("download_chunks")
        with self._lock:
            data = self._blob(container, name).data
        for start in range(0, len(data), chunk_bytes):
            yield data[start : start + chunk_bytes]

    def read_bytes(self, container: str, name: str) -> tuple[bytes, str]:
        """A blob's whole content and its ETag."""
        self._fault("read_bytes")
        with self._lock:
            blob = self._blob(container, name)
            return blob.data, blob.etag

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
        """Write a blob under the same conditions as Azure and return its new ETag."""
        self._fault("upload")
        if if_match is not None and if_none_match_any:
            raise ValueError("if_match and if_none_match_any exclude each other")
        content = data if isinstance(data, bytes) else b"".join(data)
        with self._lock:
            blobs = self._container(container)
            current = blobs.get(name)
            if if_none_match_any and current is not None:
                raise ETagConflictError(f"blob {container}/{name} already exists")
            if if_match is not None and (current is None or current.etag != if_match):
                raise ETagConflictError(f"blob {container}/{name} changed since it was read")
            etag = f'"0x{next(self._etags):X}"'
            blobs[name] = _Blob(
                data=content,
                etag=etag,
                last_modified=datetime.now(UTC).replace(microsecond=0),
                content_type=content_type or DEFAULT_CONTENT_TYPE,
                metadata=dict(metadata or {}),
            )
            return etag

    def set_tags(self, container: str, name: str, tags: dict[str, str]) -> None:
        """Merge these index tags into the blob's tags (tags do not change the ETag)."""
        self._fault("set_tags")
        with self._lock:
            blob = self._blob(container, name)
            merged = blob.tags | tags
            if len(merged) > MAX_TAGS:
                raise PermanentError(
                    f"blob {container}/{name}: Blob Storage refused the request (HTTP 400 TagsTooLarge)"
                )
            blob.tags = merged

    def get_tags(self, container: str, name: str) -> dict[str, str]:
        """The blob's index tags."""
        self._fault("get_tags")
        with self._lock:
            return dict(self._blob(container, name).tags)

    def list_blobs(self, container: str, prefix: str = "") -> Iterator[BlobInfo]:
        """Blobs whose names start with `prefix`, in name order, with metadata."""
        self._fault("list_blobs")
        with self._lock:
            blobs = self._container(container)
            infos = [self._info(container, n, b) for n, b in sorted(blobs.items()) if n.startswith(prefix)]
        yield from infos

    def url(self, container: str, name: str) -> str:
        """The blob's URL (never with a credential)."""
        self._fault("url")
        return f"{self._base_url}/{quote(container)}/{quote(name, safe='~/')}"

    def _container(self, container: str) -> dict[str, _Blob]:
        try:
            return self._containers[container]
        except KeyError:
            raise BlobNotFoundError(f"container {container} does not exist") from None

    def _blob(self, container: str, name: str) -> _Blob:
        try:
            return self._container(container)[name]
        except KeyError:
            raise BlobNotFoundError(f"blob {container}/{name} does not exist") from None

    @staticmethod
    def _info(container: str, name: str, blob: _Blob) -> BlobInfo:
        return BlobInfo(
            container=container,
            name=name,
            etag=blob.etag,
            size=len(blob.data),
            last_modified=blob.last_modified,
            content_type=blob.content_type,
            metadata=dict(blob.metadata),
        )
