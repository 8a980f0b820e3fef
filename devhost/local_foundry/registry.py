"""The foundry's registry on disk (SQLite): jobs, models and deployments, so a restart forgets nothing."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from shared.foundry.port import DeploymentState, JobState, TrainingRequest

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    name TEXT PRIMARY KEY, record TEXT NOT NULL, state TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS models (
    name TEXT NOT NULL, version INTEGER NOT NULL, record TEXT NOT NULL, PRIMARY KEY (name, version));
CREATE TABLE IF NOT EXISTS deployments (name TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS datasets (name TEXT PRIMARY KEY, uri TEXT NOT NULL);
"""


def now_iso() -> str:
    """The current UTC time as ISO 8601."""
    return datetime.now(UTC).isoformat()


class JobRecord(BaseModel):
    """A training job as the foundry keeps it."""

    name: str
    request: TrainingRequest
    state: JobState = JobState.QUEUED
    message: str = ""
    epochs: int
    learning_rate: float
    attempts: int = 0
    pid: int | None = None
    pid_started_at: float | None = None
    created_at: str = Field(default_factory=now_iso)
    started_at: str | None = None
    ended_at: str | None = None
    model_name: str | None = None
    model_version: str | None = None


class ModelRecord(BaseModel):
    """A registered model version: its adapter and merged checkpoints on disk, and its tags."""

    name: str
    version: str
    path: str
    tags: dict[str, str] = Field(default_factory=dict)
    archived: bool = False
    job_name: str
    created_at: str = Field(default_factory=now_iso)


class DeploymentRecord(BaseModel):
    """A deployment of a model version; it provisions until `ready_at` (seconds since the epoch)."""

    name: str
    model_name: str
    model_version: str
    tags: dict[str, str] = Field(default_factory=dict)
    state: DeploymentState = DeploymentState.PROVISIONING
    message: str = ""
    created_at: str = Field(default_factory=now_iso)
    ready_at: float


class Registry:
    """Thread-safe access to the SQLite file; records are stored as JSON."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def _rows(self, sql: str, *args: Any) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _write(self, sql: str, *args: Any) -> None:
        with self._lock:
            self._db.execute(sql, args)

    # Jobs
    def insert_job(self, job: JobRecord) -> JobRecord:
        """Insert the job unless one of that name exists; returns the stored one."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO jobs (name, record, state, created_at) VALUES (?, ?, ?, ?)",
                (job.name, job.model_dump_json(), job.state.value, job.created_at),
            )
            stored = self.get_job(job.name)
        assert stored is not None
        return stored

    def save_job(self, job: JobRecord) -> None:
        """Replace the job's record."""
        self._write("UPDATE jobs SET record = ?, state = ? WHERE name = ?", job.model_dump_json(), job.state, job.name)

    def get_job(self, name: str) -> JobRecord | None:
        """The job of that name, if any."""
        rows = self._rows("SELECT record FROM jobs WHERE name = ?", name)
        return JobRecord.model_validate_json(rows[0][0]) if rows else None

    def jobs_in(self, *states: JobState) -> list[JobRecord]:
        """Jobs in any of these states, oldest first."""
        marks = ",".join("?" * len(states))
        rows = self._rows(f"SELECT record FROM jobs WHERE state IN ({marks}) ORDER BY created_at", *states)  # noqa: S608
        return [JobRecord.model_validate_json(row[0]) for row in rows]

    # Models
    def add_model(self, name: str, path_for: Any, tags: dict[str, str], job_name: str) -> ModelRecord:
        """Register the next version of model `name`; `path_for(version)` gives (and fills) its folder."""
        with self._lock:
            rows = self._db.execute("SELECT MAX(version) FROM models WHERE name = ?", (name,)).fetchall()
            version = str((rows[0][0] or 0) + 1)
            model = ModelRecord(name=name, version=version, path=str(path_for(version)), tags=tags, job_name=job_name)
            self._db.execute(
                "INSERT INTO models (name, version, record) VALUES (?, ?, ?)",
                (name, int(version), model.model_dump_json()),
            )
        return model

    def save_model(self, model: ModelRecord) -> None:
        """Replace the model version's record."""
        self._write(
            "UPDATE models SET record = ? WHERE name = ? AND version = ?",
            model.model_dump_json(),
            model.name,
            int(model.version),
        )

    def get_model(self, name: str, version: str) -> ModelRecord | None:
        """The model version, if any."""
        if not version.isdigit():
            return None
        rows = self._rows("SELECT record FROM models WHERE name = ? AND version = ?", name, int(version))
        return ModelRecord.model_validate_json(rows[0][0]) if rows else None

    def models(self) -> list[ModelRecord]:
        """Every model version."""
        rows = self._rows("SELECT record FROM models ORDER BY name, version")
        return [ModelRecord.model_validate_json(row[0]) for row in rows]

    # Deployments
    def insert_deployment(self, deployment: DeploymentRecord) -> DeploymentRecord:
        """Insert the deployment unless one of that name exists; returns the stored one."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO deployments (name, record) VALUES (?, ?)",
                (deployment.name, deployment.model_dump_json()),
            )
            stored = self.get_deployment(deployment.name)
        assert stored is not None
        return stored

    def save_deployment(self, deployment: DeploymentRecord) -> None:
        """Replace the deployment's record."""
        self._write("UPDATE deployments SET record = ? WHERE name = ?", deployment.model_dump_json(), deployment.name)

    def get_deployment(self, name: str) -> DeploymentRecord | None:
        """The deployment of that name, if any."""
        rows = self._rows("SELECT record FROM deployments WHERE name = ?", name)
        return DeploymentRecord.model_validate_json(rows[0][0]) if rows else None

    def delete_deployment(self, name: str) -> None:
        """Forget the deployment."""
        self._write("DELETE FROM deployments WHERE name = ?", name)

    def deployments(self) -> list[DeploymentRecord]:
        """Every deployment."""
        rows = self._rows("SELECT record FROM deployments ORDER BY name")
        return [DeploymentRecord.model_validate_json(row[0]) for row in rows]

    # Datasets
    def put_dataset(self, name: str, uri: str) -> str:
        """Register a dataset name for a URI (the first registration wins); returns its URI."""
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO datasets (name, uri) VALUES (?, ?)", (name, uri))
            rows = self._db.execute("SELECT uri FROM datasets WHERE name = ?", (name,)).fetchall()
        return str(rows[0][0])
