"""A run's report blobs (`finetune-reports/runs/<runId>/`), read for the run page and served as links."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any

from pydantic import BaseModel, ValidationError

from devhost.dashboard.views import RunReports
from shared.errors import BlobNotFoundError, OrchestratorError
from shared.names import run_reports_prefix
from shared.smoketest import SmokeReport
from shared.steps.report import RunSummary
from shared.storage import BlobStore
from shared.validation.report import ValidationReport

log = logging.getLogger(__name__)

REPORT_CONTENT_TYPES: dict[str, str] = {
    "report.html": "text/html; charset=utf-8",
    "summary.json": "application/json",
    "validation-report.json": "application/json",
    "validation-report.html": "text/html; charset=utf-8",
    "smoke-report.json": "application/json",
}
"""The reports the dashboard serves: the same names as the HTTP API's `reports` links, and no other blob."""

MAX_REPORT_BYTES = 8 * 1024 * 1024
ENDED_CACHE_SIZE = 128
_PARSED: dict[str, type[BaseModel]] = {
    "summary.json": RunSummary,
    "validation-report.json": ValidationReport,
    "smoke-report.json": SmokeReport,
}


class ReportTooLargeError(OrchestratorError):
    """A report blob is larger than the dashboard serves."""


class ReportReader:
    """Reads a run's reports from the reports container; without a store, every run simply has none.

    The reports of an ended run no longer change, so they are read once and kept (the last 128 runs).
    """

    def __init__(self, store: BlobStore | None, container: str) -> None:
        self._store = store
        self._container = container
        self._ended: OrderedDict[str, RunReports] = OrderedDict()
        self._lock = threading.Lock()

    def read(self, run_id: str, name: str) -> bytes | None:
        """One report's bytes, or None when it does not exist (or there is no store)."""
        if name not in REPORT_CONTENT_TYPES:
            raise ValueError(f"{name!r} is not a report the dashboard serves")
        if self._store is None:
            return None
        try:
            data, _ = self._store.read_bytes(self._container, run_reports_prefix(run_id) + name)
        except BlobNotFoundError:
            return None
        if len(data) > MAX_REPORT_BYTES:
            raise ReportTooLargeError(
                f"{name} of {run_id} is {len(data)} bytes; the dashboard serves at most {MAX_REPORT_BYTES}"
            )
        return data

    def _exists(self, run_id: str, name: str) -> bool | None:
        if self._store is None:
            return None
        try:
            self._store.get_info(self._container, run_reports_prefix(run_id) + name)
        except BlobNotFoundError:
            return None
        return True

    def reports(self, run_id: str, *, ended: bool) -> RunReports:
        """The run's reports, parsed; what cannot be read is noted, not raised."""
        with self._lock:
            cached = self._ended.get(run_id)
        if cached is not None:
            return cached
        found = self._read_all(run_id)
        if ended and not found.notes:
            with self._lock:
                self._ended[run_id] = found
                while len(self._ended) > ENDED_CACHE_SIZE:
                    self._ended.popitem(last=False)
        return found

    def _read_all(self, run_id: str) -> RunReports:
        parsed: dict[str, Any] = {}
        present: list[str] = []
        notes: list[str] = []
        for name in REPORT_CONTENT_TYPES:
            model = _PARSED.get(name)
            try:
                # Pages are only linked: whether they exist is enough. JSON reports are read for the page.
                data = self.read(run_id, name) if model is not None else self._exists(run_id, name)
            except OrchestratorError as error:
                log.warning("dashboard: cannot read %s of %s: %s", name, run_id, type(error).__name__)
                notes.append(f"{name} could not be read ({type(error).__name__})")
                continue
            if data is None:
                continue
            present.append(name)
            if model is None:
                continue
            assert isinstance(data, bytes)
            try:
                parsed[name] = model.model_validate_json(data)
            except ValidationError:
                notes.append(f"{name} is not in the format this dashboard reads")
        return RunReports(
            summary=parsed.get("summary.json"),
            validation=parsed.get("validation-report.json"),
            smoke=parsed.get("smoke-report.json"),
            present=present,
            notes=notes,
        )
