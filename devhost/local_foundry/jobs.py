"""Training jobs in subprocesses: queue, start, watch, cancel, register the output, recover after a restart."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

from devhost.local_foundry.chat_data import DatasetError, check_uri
from devhost.local_foundry.config import FoundryConfig, FoundryFaults
from devhost.local_foundry.errors import FoundryError, NotFoundError
from devhost.local_foundry.job_files import STORAGE_ENV, JobFiles, TrainingSpec, write_atomic
from devhost.local_foundry.registry import JobRecord, ModelRecord, Registry, now_iso
from shared import names
from shared.foundry.port import JobState, TrainingRequest

log = logging.getLogger(__name__)

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
PROJECT_ROOT = Path(__file__).resolve().parents[2]
POLL_SECONDS = 0.2
TERMINATE_GRACE_SECONDS = 5.0


@dataclass
class _Running:
    process: subprocess.Popen[bytes]
    files: JobFiles
    canceling: bool = False


class JobRunner:
    """Runs queued jobs as `python -m devhost.local_foundry.train_job` processes, at most N at once."""

    def __init__(
        self,
        registry: Registry,
        data_dir: Path,
        config: FoundryConfig,
        faults: Callable[[], FoundryFaults],
        storage_connection_string: str | None = None,
    ) -> None:
        self._registry = registry
        self._jobs_dir = data_dir / "jobs"
        self._models_dir = data_dir / "models"
        self._config = config
        self._faults = faults
        self._storage = storage_connection_string
        self._running: dict[str, _Running] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def files(self, name: str) -> JobFiles:
        """The folder of job `name`."""
        return JobFiles(self._jobs_dir / name)

    def start(self) -> None:
        """Recover jobs left running by an earlier foundry, then watch the queue in a thread."""
        self.recover()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="local-foundry-jobs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching and end every training process (their jobs restart at the next start)."""
        self._stop.set()
        if self._thread:
            self._thread.join()
        with self._lock:
            for running in self._running.values():
                _terminate(running.process)
            self._running.clear()

    def submit(self, request: TrainingRequest) -> tuple[JobRecord, bool]:
        """Queue the job, or return the one of that name; the flag says whether it was created."""
        existing = self._registry.get_job(request.job_name)
        if existing:
            return existing, False
        _check_request(request)
        job = JobRecord(
            name=request.job_name,
            request=request,
            epochs=self._config.effective_epochs(request.epochs),
            learning_rate=self._config.effective_learning_rate(request.learning_rate),
            message="waiting for a training slot",
        )
        stored = self._registry.insert_job(job)
        return stored, stored.created_at == job.created_at

    def get(self, name: str) -> JobRecord:
        """The job's record."""
        job = self._registry.get_job(name)
        if job is None:
            raise NotFoundError(f"no training job named {name!r}")
        return job

    def cancel(self, name: str) -> JobRecord:
        """Cancel a queued job, or stop a running one's process tree and wait for it to end."""
        with self._lock:
            job = self.get(name)
            if job.state.is_terminal:
                return job
            running = self._running.pop(name, None)
            if running:
                running.canceling = True
                _terminate(running.process)
            job.state, job.message, job.ended_at, job.pid = JobState.CANCELED, "canceled on request", now_iso(), None
            self._registry.save_job(job)
            return job

    def _loop(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            try:
                self._tick()
            except Exception:
                log.exception("local foundry: the job watcher failed a round")

    def _tick(self) -> None:
        with self._lock:
            for name, running in list(self._running.items()):
                code = running.process.poll()
                if code is not None:
                    del self._running[name]
                    self._finish(self.get(name), running.files, code)
            for job in self._registry.jobs_in(JobState.QUEUED):
                if len(self._running) >= self._config.max_concurrent_jobs:
                    break
                self._launch(job)

    def _launch(self, job: JobRecord) -> None:
        files = self.files(job.name)
        if files.directory.exists():
            shutil.rmtree(files.directory)
        files.directory.mkdir(parents=True)
        faults = self._faults()
        spec = TrainingSpec(
            job_name=job.name,
            training_data_uri=job.request.training_data_uri,
            validation_data_uri=job.request.validation_data_uri,
            epochs=job.epochs,
            learning_rate=job.learning_rate,
            batch_size=job.request.batch_size,
            seed=self._config.seed,
            base_model_path=self._config.base_model_path,
            vocab_size=self._config.vocab_size,
            max_seq_len=self._config.max_seq_len,
            fail_after_epoch=1 if faults.matches(faults.fail_jobs, job.name) else None,
        )
        write_atomic(files.spec, spec.model_dump_json(indent=2))
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
        env.pop(STORAGE_ENV, None)
        if self._storage:
            env[STORAGE_ENV] = self._storage
        with files.log.open("wb") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-m", "devhost.local_foundry.train_job", str(files.directory)],
                cwd=PROJECT_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._running[job.name] = _Running(process, files)
        job.state, job.message, job.started_at, job.ended_at = JobState.RUNNING, "starting", now_iso(), None
        job.attempts += 1
        job.pid, job.pid_started_at = process.pid, _create_time(process.pid)
        self._registry.save_job(job)

    def _finish(self, job: JobRecord, files: JobFiles, code: int) -> None:
        job.pid, job.ended_at = None, now_iso()
        if code == 0 and files.merged.is_dir():
            model = self._register_model(job, files)
            job.state, job.message = JobState.SUCCEEDED, f"registered model {model.name} version {model.version}"
            job.model_name, job.model_version = model.name, model.version
        else:
            job.state = JobState.FAILED
            job.message = files.read_error() or f"the training process exited with code {code} (see {files.log})"
        self._registry.save_job(job)

    def _register_model(self, job: JobRecord, files: JobFiles) -> ModelRecord:
        request = job.request
        tags = {
            names.FAMILY_TAG: request.family,
            names.RUN_ID_TAG: request.run_id,
            **request.tags,
            "job-name": job.name,
            "base-model": request.base_model,
        }

        def place(version: str) -> Path:
            target = self._models_dir / request.output_model_prefix / version
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(files.output, target)
            return target

        return self._registry.add_model(request.output_model_prefix, place, tags, job.name)

    def recover(self) -> None:
        """Jobs an earlier foundry left running: their process is ended; each restarts or is reported failed."""
        for job in self._registry.jobs_in(JobState.RUNNING):
            if job.pid and _is_same_process(job.pid, job.pid_started_at):
                _terminate_pid(job.pid)
            job.pid, job.pid_started_at = None, None
            if job.attempts < self._config.max_job_attempts:
                job.state, job.message = JobState.QUEUED, "restarting: the foundry stopped while the job ran"
            else:
                job.state, job.ended_at = JobState.FAILED, now_iso()
                job.message = f"the training process ended with the foundry ({job.attempts} attempt(s) made)"
            self._registry.save_job(job)


def _check_request(request: TrainingRequest) -> None:
    problems = []
    if request.epochs < 1:
        problems.append(f"epochs must be at least 1 (got {request.epochs})")
    if not 0 < request.learning_rate <= 1:
        problems.append(f"learning_rate must be in (0, 1] (got {request.learning_rate})")
    if request.batch_size < 1:
        problems.append(f"batch_size must be at least 1 (got {request.batch_size})")
    if not _SAFE_NAME.fullmatch(request.job_name):
        problems.append(f"job_name {request.job_name!r} must be 1-128 letters, digits, '-', '_' or '.'")
    if not _SAFE_NAME.fullmatch(request.output_model_prefix):
        problems.append(
            f"output_model_prefix {request.output_model_prefix!r} must be 1-128 letters, digits, '-', '_' or '.'"
        )
    for uri in (request.training_data_uri, request.validation_data_uri):
        try:
            check_uri(uri)
        except DatasetError as error:
            problems.append(str(error))
    if problems:
        raise FoundryError("; ".join(problems))


def _create_time(pid: int) -> float | None:
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


def _is_same_process(pid: int, started_at: float | None) -> bool:
    return started_at is not None and _create_time(pid) == started_at


def _terminate(process: subprocess.Popen[bytes]) -> None:
    """End the process and its children (its own session), politely first."""
    _signal_group(process.pid, signal.SIGTERM)
    try:
        process.wait(TERMINATE_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        _signal_group(process.pid, signal.SIGKILL)
        process.wait()
    # Children outliving the leader are still in its process group.
    _signal_group(process.pid, signal.SIGKILL)


def _terminate_pid(pid: int) -> None:
    """End a process tree that is not our child (left by an earlier foundry)."""
    _signal_group(pid, signal.SIGTERM)
    with contextlib.suppress(psutil.Error):
        psutil.Process(pid).wait(TERMINATE_GRACE_SECONDS)
    _signal_group(pid, signal.SIGKILL)


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)
