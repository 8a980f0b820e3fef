from __future__ import annotations

import threading
from pathlib import Path

import pytest

from devhost.blob_poller import BlobPoller
from devhost.blob_receipts import ReceiptOutcome
from shared.storage import AzureBlobStore, BlobInfo

pytestmark = pytest.mark.integration


class Recorder:
    def __init__(self, failures: int = 0) -> None:
        self.calls: list[BlobInfo] = []
        self.failures = failures

    def __call__(self, blob: BlobInfo) -> None:
        self.calls.append(blob)
        if len(self.calls) <= self.failures:
            raise RuntimeError("trigger failed")


def test_fires_once_per_name_and_etag_across_a_restart_and_again_for_a_re_upload(
    azurite_blob_store: AzureBlobStore, blob_container_name: str, tmp_path: Path
) -> None:
    store, container, receipts = azurite_blob_store, blob_container_name, tmp_path / "receipts.db"
    store.ensure_container(container)
    first_etag = store.upload(container, "team/data.jsonl", b'{"messages": []}\n', metadata={"ft_epochs": "2"})
    other_etag = store.upload(container, "notes.txt", b"not training data")
    recorder = Recorder()
    poller = BlobPoller(store, container, receipts, recorder, 0.05)
    assert {(r.name, r.etag) for r in poller.poll_once()} == {
        ("team/data.jsonl", first_etag),
        ("notes.txt", other_etag),
    }
    assert poller.poll_once() == []
    poller.close()

    restarted = BlobPoller(store, container, receipts, recorder, 0.05)
    assert restarted.poll_once() == []
    new_etag = store.upload(container, "team/data.jsonl", b'{"messages": [1]}\n')
    assert [(r.name, r.etag) for r in restarted.poll_once()] == [("team/data.jsonl", new_etag)]
    assert restarted.poll_once() == []
    restarted.close()

    fired = sorted((b.name, b.etag) for b in recorder.calls)
    assert fired == sorted([("team/data.jsonl", first_etag), ("notes.txt", other_etag), ("team/data.jsonl", new_etag)])
    data_call = next(b for b in recorder.calls if b.etag == first_etag)
    assert (data_call.container, data_call.metadata, data_call.size) == (container, {"ft_epochs": "2"}, 17)


def test_a_failing_callback_is_retried_by_a_later_poll(
    azurite_blob_store: AzureBlobStore, blob_container_name: str, tmp_path: Path
) -> None:
    azurite_blob_store.ensure_container(blob_container_name)
    etag = azurite_blob_store.upload(blob_container_name, "a.jsonl", b"{}\n")
    recorder = Recorder(failures=1)
    poller = BlobPoller(azurite_blob_store, blob_container_name, tmp_path / "receipts.db", recorder, 0.05)
    assert [(r.outcome, r.last_error) for r in poller.poll_once()] == [
        (ReceiptOutcome.FAILED, "RuntimeError: trigger failed")
    ]
    assert [(r.outcome, r.attempts) for r in poller.poll_once()] == [(ReceiptOutcome.SUCCEEDED, 2)]
    assert [b.etag for b in recorder.calls] == [etag, etag]
    poller.close()


def test_the_background_poller_picks_up_an_upload(
    azurite_blob_store: AzureBlobStore, blob_container_name: str, tmp_path: Path
) -> None:
    seen = threading.Event()
    names: list[str] = []

    def callback(blob: BlobInfo) -> None:
        names.append(blob.name)
        seen.set()

    poller = BlobPoller(azurite_blob_store, blob_container_name, tmp_path / "receipts.db", callback, 0.05)
    poller.start()
    try:
        azurite_blob_store.ensure_container(blob_container_name)
        azurite_blob_store.upload(blob_container_name, "dropped.jsonl", b"{}\n")
        assert seen.wait(60)
    finally:
        poller.close()
    assert names == ["dropped.jsonl"]
