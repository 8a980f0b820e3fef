from __future__ import annotations

from pathlib import Path

import pytest

from devhost.azurite import start_azurite
from shared.storage import AzureBlobStore

pytestmark = pytest.mark.integration


def test_blobs_persist_in_the_data_dir_across_a_restart(tmp_path: Path) -> None:
    with start_azurite(tmp_path / "azurite") as first:
        store = AzureBlobStore(connection_string=first.connection_string)
        store.ensure_container("training-data")
        etag = store.upload("training-data", "kept.jsonl", b"{}\n")
        store.close()
    assert first.process.returncode is not None
    with start_azurite(tmp_path / "azurite") as second:
        store = AzureBlobStore(connection_string=second.connection_string)
        assert store.read_bytes("training-data", "kept.jsonl") == (b"{}\n", etag)
        store.close()
    assert (tmp_path / "azurite" / "azurite.log").exists()
