"""The blob trigger binding: a `func.InputStream` whose content streams from the `BlobStore`.

The worker's own input stream (`azure.functions.blob.InputStream`, a `func.InputStream`) holds the whole
blob in memory; this one subclasses it, so `isinstance` checks and `name`, `uri`, `length`, `metadata` and
`blob_properties` behave alike, but pulls chunks from the store only as `read()` asks for them. The Event
Grid source and the polling source hand the function the same object.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from azure.functions.blob import InputStream as WorkerInputStream

from shared.storage import DEFAULT_CHUNK_BYTES, BlobInfo, BlobStore


class StreamedBlobInputStream(WorkerInputStream):
    """A read-only, forward-only stream over one blob, downloaded lazily in chunks."""

    def __init__(self, store: BlobStore, info: BlobInfo, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> None:
        super().__init__(
            data=b"",
            name=f"{info.container}/{info.name}",
            uri=store.url(info.container, info.name),
            length=info.size,
            blob_properties=blob_properties(info),
            metadata=dict(info.metadata),
        )
        self._store = store
        self._info = info
        self._chunk_bytes = chunk_bytes
        self._chunks: Iterator[bytes] | None = None
        self._buffer = bytearray()
        self._exhausted = False

    def _more(self) -> bool:
        if self._exhausted:
            return False
        if self._chunks is None:
            self._chunks = self._store.download_chunks(self._info.container, self._info.name, self._chunk_bytes)
        for chunk in self._chunks:
            if chunk:
                self._buffer.extend(chunk)
                return True
        self._exhausted = True
        return False

    def read(self, size: int | None = -1) -> bytes:
        """Up to `size` bytes (all that is left when `size` is None or negative)."""
        if size is None or size < 0:
            while self._more():
                pass
            data = bytes(self._buffer)
            self._buffer.clear()
            return data
        while len(self._buffer) < size and self._more():
            pass
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    read1 = read

    def readable(self) -> bool:
        """Always readable."""
        return True

    def seekable(self) -> bool:
        """Forward-only."""
        return False

    def writable(self) -> bool:
        """Read-only."""
        return False


def blob_properties(info: BlobInfo) -> dict[str, Any]:
    """The trigger's `Properties` as the Functions host passes them (.NET `BlobProperties` names)."""
    return {
        "ETag": info.etag,
        "ContentLength": info.size,
        "Length": info.size,
        "LastModified": info.last_modified.isoformat(),
        "ContentType": info.content_type,
    }
