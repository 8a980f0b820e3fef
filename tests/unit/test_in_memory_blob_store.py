from __future__ import annotations

import pytest

from shared.errors import BlobNotFoundError, TransientError
from tests.contracts.blob_store import BlobStoreContract
from tests.fakes.storage import InMemoryBlobStore


class TestInMemoryBlobStore(BlobStoreContract):
    @pytest.fixture
    def store(self) -> InMemoryBlobStore:
        return InMemoryBlobStore()


def test_injected_faults_hit_the_next_calls_of_that_operation_only() -> None:
    store = InMemoryBlobStore()
    store.ensure_container("ccc")
    store.fail_next("upload", TransientError("throttled"), times=2)
    for _ in range(2):
        with pytest.raises(TransientError, match="throttled"):
            store.upload("ccc", "a", b"x")
    etag = store.upload("ccc", "a", b"x")
    assert store.read_bytes("ccc", "a") == (b"x", etag)
    store.fail_next("list_blobs", BlobNotFoundError("gone"))
    with pytest.raises(BlobNotFoundError):
        list(store.list_blobs("ccc"))
    assert [b.name for b in store.list_blobs("ccc")] == ["a"]


def test_a_fault_for_an_unknown_operation_is_refused() -> None:
    with pytest.raises(ValueError, match="not a BlobStore operation"):
        InMemoryBlobStore().fail_next("uplaod", TransientError("x"))
