"""The devhost's stand-in for the Event Grid blob trigger: a poller over a container.

In Azure, Event Grid delivers `BlobCreated` to the blob trigger. On the devhost this poller lists the
container through the `BlobStore` port every `interval_s` and calls `callback` once per (blob name,
ETag): every name, since the trigger function itself decides what to skip. Receipts in SQLite
(`devhost.blob_receipts`) make a restart or a slow callback never fire a version twice; a callback
that raises is retried on later polls up to `max_attempts`, each failure logged, the last one recorded
as given up.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from devhost.background import BackgroundLoop
from devhost.blob_receipts import Receipt, ReceiptOutcome, ReceiptStore
from shared.errors import BlobNotFoundError
from shared.storage import BlobInfo, BlobStore

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 2.0
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_LEASE = timedelta(minutes=10)
_TERMINAL = frozenset({ReceiptOutcome.SUCCEEDED, ReceiptOutcome.GAVE_UP})


class BlobPoller:
    """Calls `callback(blob)` once per new (name, ETag) in `container`; `start()` polls in a thread."""

    def __init__(
        self,
        store: BlobStore,
        container: str,
        receipts_path: Path,
        callback: Callable[[BlobInfo], None],
        interval_s: float = DEFAULT_INTERVAL_S,
        *,
        prefix: str = "",
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        lease: timedelta = DEFAULT_LEASE,
        receipts: ReceiptStore | None = None,
    ) -> None:
        if interval_s <= 0 or max_attempts < 1:
            raise ValueError("interval_s must be > 0 and max_attempts >= 1")
        self._store = store
        self._container = container
        self._callback = callback
        self._interval_s = interval_s
        self._prefix = prefix
        self._max_attempts = max_attempts
        self._lease = lease
        self._receipts = receipts or ReceiptStore(receipts_path)
        self._settled: set[tuple[str, str]] = set()
        self._poll_lock = threading.Lock()
        self._loop = BackgroundLoop(self._run, f"blob-poller-{container}")

    @property
    def receipts(self) -> ReceiptStore:
        """The receipt store (to inspect outcomes)."""
        return self._receipts

    def poll_once(self) -> list[Receipt]:
        """List the container once and fire for every version not yet handled; returns those receipts.

        A container that does not exist yet has nothing to fire. Storage faults propagate.
        """
        with self._poll_lock:
            try:
                blobs = list(self._store.list_blobs(self._container, self._prefix))
            except BlobNotFoundError:
                logger.debug("container %s does not exist yet: nothing to poll", self._container)
                return []
            fired = []
            for blob in sorted(blobs, key=lambda b: (b.last_modified, b.name)):
                if self._loop.stopping.is_set() and self._loop.running:
                    break
                receipt = self._fire(blob)
                if receipt is not None:
                    fired.append(receipt)
            return fired

    def _fire(self, blob: BlobInfo) -> Receipt | None:
        key = (blob.name, blob.etag)
        if key in self._settled:
            return None
        claim = self._receipts.claim(
            self._container, blob.name, blob.etag, max_attempts=self._max_attempts, lease=self._lease
        )
        if claim is None:
            existing = self._receipts.get(self._container, blob.name, blob.etag)
            if existing is not None and existing.outcome in _TERMINAL:
                self._settled.add(key)
            return None
        try:
            self._callback(blob)
        except Exception as exc:
            return self._record_failure(blob, claim.attempts, exc)
        self._settled.add(key)
        return self._receipts.settle(self._container, blob.name, blob.etag, ReceiptOutcome.SUCCEEDED)

    def _record_failure(self, blob: BlobInfo, attempt: int, exc: Exception) -> Receipt:
        error = f"{type(exc).__name__}: {exc}"
        where = f"{self._container}/{blob.name} ({blob.etag})"
        if attempt >= self._max_attempts:
            logger.error("blob trigger for %s failed %d times; giving up: %s", where, attempt, error, exc_info=exc)
            self._settled.add((blob.name, blob.etag))
            return self._receipts.settle(self._container, blob.name, blob.etag, ReceiptOutcome.GAVE_UP, error)
        logger.error(
            "blob trigger for %s failed (attempt %d of %d; retried on a later poll): %s",
            where,
            attempt,
            self._max_attempts,
            error,
            exc_info=exc,
        )
        return self._receipts.settle(self._container, blob.name, blob.etag, ReceiptOutcome.FAILED, error)

    def start(self) -> None:
        """Poll every `interval_s` in a daemon thread until `stop()`."""
        self._loop.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop polling; a callback in flight finishes first (its receipt is settled)."""
        self._loop.stop(timeout_s)

    def close(self) -> None:
        """Stop and close the receipt store."""
        self.stop()
        self._receipts.close()

    def _run(self) -> None:
        while not self._loop.stopping.is_set():
            try:
                self.poll_once()
            except Exception:
                logger.exception("polling %s failed; trying again in %.1f s", self._container, self._interval_s)
            self._loop.stopping.wait(self._interval_s)
