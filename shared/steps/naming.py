"""Deterministic names of what a run creates, and where its reports go."""

from __future__ import annotations

import hashlib

from shared.names import run_reports_prefix


def _digest(run_id: str, length: int) -> str:
    return hashlib.sha256(run_id.encode()).hexdigest()[:length]


def job_name_for(run_id: str) -> str:
    """The training job of a run (Azure ML job names: letters, digits, dashes, underscores)."""
    return f"{run_id}-job"[:255]


def deployment_name_for(run_id: str) -> str:
    """The deployment of a run: at most 32 characters, starting with a letter (serverless endpoint rules)."""
    stem = run_id.removeprefix("ft-")[:18].rstrip("-")
    return f"ft-{stem}-{_digest(run_id, 8)}"


def report_blob(run_id: str, file_name: str) -> str:
    """A file in the run's reports folder."""
    return f"{run_reports_prefix(run_id)}{file_name}"
