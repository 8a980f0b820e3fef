from __future__ import annotations

import hashlib
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest

from devhost.functions_host import FunctionsHost
from shared.storage import AzureBlobStore

pytestmark = pytest.mark.integration


def test_blob_trigger_streams_a_blob_from_azurite(azurite_blob_store: AzureBlobStore, blob_container_name: str) -> None:
    seen: dict[str, Any] = {}
    app = df.DFApp()

    @app.blob_trigger(arg_name="blob", path=f"{blob_container_name}/{{name}}", connection="STORAGE", source="EventGrid")
    def on_upload(blob: func.InputStream) -> None:
        digest = hashlib.sha256()
        reads = 0
        while chunk := blob.read(50_000):
            digest.update(chunk)
            reads += 1
        seen.update(name=blob.name, uri=blob.uri, length=blob.length, metadata=blob.metadata, sha=digest.hexdigest())
        seen["reads"] = reads

    data = bytes(range(256)) * 800  # 200 KiB: several download chunks of the test store
    azurite_blob_store.ensure_container(blob_container_name)
    azurite_blob_store.upload(blob_container_name, "team/a.jsonl", data, metadata={"ft_epochs": "2"})
    info = azurite_blob_store.get_info(blob_container_name, "team/a.jsonl")

    host = FunctionsHost(app)
    (trigger,) = host.blob_triggers(blob_container_name)
    host.invoke_blob(trigger, azurite_blob_store, info)
    host.close()

    assert seen["name"] == f"{blob_container_name}/team/a.jsonl"
    assert seen["uri"] == azurite_blob_store.url(blob_container_name, "team/a.jsonl")
    assert seen["uri"].startswith("http://127.0.0.1:")
    assert seen["length"] == len(data)
    assert seen["metadata"] == {"ft_epochs": "2"}
    assert seen["sha"] == hashlib.sha256(data).hexdigest()
    assert seen["reads"] == 5
