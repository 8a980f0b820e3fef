from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devhost.blob_poller import BlobPoller
from devhost.blob_receipts import ReceiptOutcome, ReceiptStore
from shared.storage import BlobInfo
from tests.fakes.storage import InMemoryBlobStore

CONTAINER = "training-data"


class Recorder:
    """A callback that records what it was called with and fails the first `failures` calls."""

    def __init__(self, failures: int = 0) -> None:
        self.calls: list[tuple[str, str]] = []
        self.failures = failures

    def __call__(self, blob: BlobInfo) -> None:
        self.calls.append((blob.name, blob.etag))
        if len(self.calls) <= self.failures:
            raise RuntimeError(f"handler broke on call {len(self.calls)}")


@pytest.fixture
def store() -> InMemoryBlobStore:
    store = InMemoryBlobStore()
    store.ensure_container(CONTAINER)
    return store


def _poller(store: InMemoryBlobStore, path: Path, callback: Recorder, **kwargs: object) -> BlobPoller:
    return BlobPoller(store, CONTAINER, path, callback, 0.01, **kwargs)  # type: ignore[arg-type]


def test_each_version_fires_once_whatever_its_name(store: InMemoryBlobStore, tmp_path: Path) -> None:
    a = store.upload(CONTAINER, "team/a.jsonl", b"{}")
    readme = store.upload(CONTAINER, "README.txt", b"not data")
    recorder = Recorder()
    poller = _poller(store, tmp_path / "receipts.db", recorder)
    fired = poller.poll_once()
    assert sorted((r.name, r.etag, r.outcome, r.attempts) for r in fired) == sorted(
        [("team/a.jsonl", a, ReceiptOutcome.SUCCEEDED, 1), ("README.txt", readme, ReceiptOutcome.SUCCEEDED, 1)]
    )
    assert poller.poll_once() == []
    assert sorted(recorder.calls) == sorted([("team/a.jsonl", a), ("README.txt", readme)])


def test_a_restarted_poller_does_not_fire_again(store: InMemoryBlobStore, tmp_path: Path) -> None:
    store.upload(CONTAINER, "a.jsonl", b"{}")
    first = Recorder()
    _poller(store, tmp_path / "receipts.db", first).close()
    poller = _poller(store, tmp_path / "receipts.db", first)
    poller.poll_once()
    poller.close()
    second = Recorder()
    assert _poller(store, tmp_path / "receipts.db", second).poll_once() == []
    assert second.calls == []
    assert len(first.calls) == 1


def test_a_re_upload_fires_again_for_the_new_etag(store: InMemoryBlobStore, tmp_path: Path) -> None:
    old = store.upload(CONTAINER, "a.jsonl", b"v1")
    recorder = Recorder()
    poller = _poller(store, tmp_path / "receipts.db", recorder)
    poller.poll_once()
    new = store.upload(CONTAINER, "a.jsonl", b"v2")
    assert [r.etag for r in poller.poll_once()] == [new]
    assert recorder.calls == [("a.jsonl", old), ("a.jsonl", new)]


def test_a_failing_callback_is_retried_on_a_later_poll_and_logged(
    store: InMemoryBlobStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    etag = store.upload(CONTAINER, "a.jsonl", b"{}")
    recorder = Recorder(failures=1)
    poller = _poller(store, tmp_path / "receipts.db", recorder)
    with caplog.at_level(logging.ERROR, logger="devhost.blob_poller"):
        [failed] = poller.poll_once()
    assert (failed.outcome, failed.attempts) == (ReceiptOutcome.FAILED, 1)
    assert failed.last_error == "RuntimeError: handler broke on call 1"
    assert "attempt 1 of 5" in caplog.text
    assert "training-data/a.jsonl" in caplog.text
    [retried] = _poller(store, tmp_path / "receipts.db", recorder).poll_once()
    assert (retried.outcome, retried.attempts) == (ReceiptOutcome.SUCCEEDED, 2)
    assert recorder.calls == [("a.jsonl", etag)] * 2


def test_a_callback_that_keeps_failing_is_given_up_after_max_attempts(
    store: InMemoryBlobStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store.upload(CONTAINER, "a.jsonl", b"{}")
    recorder = Recorder(failures=100)
    poller = _poller(store, tmp_path / "receipts.db", recorder, max_attempts=3)
    outcomes = [[(r.outcome, r.attempts) for r in poller.poll_once()] for _ in range(5)]
    assert outcomes == [
        [(ReceiptOutcome.FAILED, 1)],
        [(ReceiptOutcome.FAILED, 2)],
        [(ReceiptOutcome.GAVE_UP, 3)],
        [],
        [],
    ]
    assert len(recorder.calls) == 3
    assert "giving up" in caplog.text
    assert [r.outcome for r in poller.receipts.all()] == [ReceiptOutcome.GAVE_UP]


def test_a_slow_callback_is_not_fired_again_by_a_concurrent_poll(store: InMemoryBlobStore, tmp_path: Path) -> None:
    store.upload(CONTAINER, "slow.jsonl", b"{}")
    entered, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def slow(blob: BlobInfo) -> None:
        calls.append(blob.name)
        entered.set()
        release.wait(60)

    first = BlobPoller(store, CONTAINER, tmp_path / "receipts.db", slow, 0.01)
    worker = threading.Thread(target=first.poll_once)
    worker.start()
    assert entered.wait(60)
    second = BlobPoller(store, CONTAINER, tmp_path / "receipts.db", slow, 0.01)
    assert second.poll_once() == []
    release.set()
    worker.join(60)
    assert second.poll_once() == []
    assert calls == ["slow.jsonl"]


def test_a_claim_abandoned_by_a_crash_is_fired_again_once_its_lease_expires(
    store: InMemoryBlobStore, tmp_path: Path
) -> None:
    etag = store.upload(CONTAINER, "a.jsonl", b"{}")
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    receipts = ReceiptStore(tmp_path / "receipts.db", clock=lambda: now[0])
    assert receipts.claim(CONTAINER, "a.jsonl", etag, max_attempts=5, lease=timedelta(minutes=10)) is not None
    recorder = Recorder()
    poller = _poller(store, tmp_path / "receipts.db", recorder, receipts=receipts, lease=timedelta(minutes=10))
    assert poller.poll_once() == []
    now[0] += timedelta(minutes=11)
    [receipt] = poller.poll_once()
    assert (receipt.outcome, receipt.attempts) == (ReceiptOutcome.SUCCEEDED, 2)
    assert recorder.calls == [("a.jsonl", etag)]


def test_a_missing_container_has_nothing_to_fire(tmp_path: Path) -> None:
    recorder = Recorder()
    assert _poller(InMemoryBlobStore(), tmp_path / "receipts.db", recorder).poll_once() == []


def test_the_background_thread_fires_for_new_uploads_until_stopped(store: InMemoryBlobStore, tmp_path: Path) -> None:
    seen = threading.Event()
    names: list[str] = []

    def callback(blob: BlobInfo) -> None:
        names.append(blob.name)
        seen.set()

    poller = BlobPoller(store, CONTAINER, tmp_path / "receipts.db", callback, 0.01)
    poller.start()
    try:
        store.upload(CONTAINER, "late.jsonl", b"{}")
        assert seen.wait(60)
    finally:
        poller.stop()
    store.upload(CONTAINER, "after-stop.jsonl", b"{}")
    assert names == ["late.jsonl"]
    poller.start()
    with pytest.raises(RuntimeError, match="already running"):
        poller.start()
    poller.close()


def test_expiring_leases_fires_a_crashed_claim_on_the_next_poll_and_leaves_settled_ones(
    store: InMemoryBlobStore, tmp_path: Path
) -> None:
    crashed = store.upload(CONTAINER, "crashed.jsonl", b"{}")
    done = store.upload(CONTAINER, "done.jsonl", b"{}")
    receipts = ReceiptStore(tmp_path / "receipts.db")
    assert receipts.claim(CONTAINER, "crashed.jsonl", crashed, max_attempts=5, lease=timedelta(minutes=10))
    assert receipts.claim(CONTAINER, "done.jsonl", done, max_attempts=5, lease=timedelta(minutes=10))
    receipts.settle(CONTAINER, "done.jsonl", done, ReceiptOutcome.SUCCEEDED)
    assert receipts.expire_leases() == 1
    recorder = Recorder()
    [receipt] = _poller(store, tmp_path / "receipts.db", recorder, receipts=receipts).poll_once()
    assert (receipt.name, receipt.outcome, receipt.attempts) == ("crashed.jsonl", ReceiptOutcome.SUCCEEDED, 2)
    assert recorder.calls == [("crashed.jsonl", crashed)]
