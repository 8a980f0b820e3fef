from __future__ import annotations

import pytest

from tests.contracts.blob_store import BlobStoreContract
from tests.fakes.storage import InMemoryBlobStore


class TestInMemoryBlobStore(BlobStoreContract):
    @pytest.fixture
    def store(self) -> InMemoryBlobStore:
        return InMemoryBlobStore()
