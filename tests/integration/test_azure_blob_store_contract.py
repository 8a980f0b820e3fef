from __future__ import annotations

import pytest

from shared.storage import AzureBlobStore
from tests.contracts.blob_store import BlobStoreContract

pytestmark = pytest.mark.integration


class TestAzureBlobStoreOverAzurite(BlobStoreContract):
    @pytest.fixture
    def store(self, azurite_blob_store: AzureBlobStore) -> AzureBlobStore:
        return azurite_blob_store
