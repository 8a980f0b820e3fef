"""An in-memory `FineTuningBackend` with scripted behaviour, and a chat client that answers like a model.

Jobs advance one state per poll (queued, running ... succeeded); faults are switched on per test.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pydantic import SecretStr

from shared.chat_client import ChatMessage, ChatResponse
from shared.errors import PermanentError
from shared.foundry.port import (
    DeploymentRequest,
    DeploymentState,
    DeploymentStatus,
    JobState,
    JobStatus,
    LossPoint,
    ModelRef,
    TrainingMetrics,
    TrainingRequest,
)
from shared.names import FAMILY_TAG

FAKE_KEY_PREFIX = "fake-endpoint-key-"


@dataclass
class FakeFaults:
    """Switches for the failure scenarios."""

    job_fails: bool = False
    job_never_ends: bool = False
    deployment_fails: bool = False
    deployment_never_provisions: bool = False
    polls_until_done: int = 3


@dataclass
class _Job:
    request: TrainingRequest
    polls: int = 0
    canceled: bool = False


@dataclass
class FakeBackend:
    """Implements `FineTuningBackend` in memory; counts what was created so tests can check idempotency."""

    faults: FakeFaults = field(default_factory=FakeFaults)
    jobs: dict[str, _Job] = field(default_factory=dict)
    deployments: dict[str, DeploymentStatus] = field(default_factory=dict)
    deployment_polls: dict[str, int] = field(default_factory=dict)
    models: dict[tuple[str, str], ModelRef] = field(default_factory=dict)
    datasets: dict[str, str] = field(default_factory=dict)
    submit_calls: int = 0
    create_deployment_calls: int = 0
    deleted: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    clock: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def register_dataset(self, name: str, blob_uri: str) -> str:
        self.datasets[name] = blob_uri
        return f"azureml://datastores/fake/paths/{name}"

    def submit_job(self, request: TrainingRequest) -> JobStatus:
        with self._lock:
            self.submit_calls += 1
            self.jobs.setdefault(request.job_name, _Job(request))
        return self._status(request.job_name, advance=False)

    def get_job(self, job_name: str) -> JobStatus:
        return self._status(job_name, advance=True)

    def _status(self, job_name: str, *, advance: bool) -> JobStatus:
        with self._lock:
            job = self.jobs[job_name]
            if advance:
                job.polls += 1
            curve = [
                LossPoint(step=step, epoch=step / 2, train_loss=3.0 / (step + 1), validation_loss=3.2 / (step + 1))
                for step in range(min(job.polls, self.faults.polls_until_done) + 1)
            ]
            metrics = TrainingMetrics(
                train_loss=curve[-1].train_loss, validation_loss=curve[-1].validation_loss, curve=curve
            )
            if job.canceled:
                return JobStatus(job_name=job_name, state=JobState.CANCELED, message="canceled", metrics=metrics)
            if job.polls == 0:
                return JobStatus(job_name=job_name, state=JobState.QUEUED)
            if self.faults.job_never_ends or job.polls < self.faults.polls_until_done:
                return JobStatus(job_name=job_name, state=JobState.RUNNING, progress=0.5, metrics=metrics)
            if self.faults.job_fails:
                return JobStatus(job_name=job_name, state=JobState.FAILED, message="out of memory on step 7")
            return JobStatus(job_name=job_name, state=JobState.SUCCEEDED, progress=1.0, metrics=metrics)

    def cancel_job(self, job_name: str) -> JobStatus:
        with self._lock:
            job = self.jobs[job_name]
            ended = job.polls >= self.faults.polls_until_done and not self.faults.job_never_ends
            if not ended:
                job.canceled = True
        return self._status(job_name, advance=False)

    def get_output_model(self, job_name: str) -> ModelRef:
        request = self.jobs[job_name].request
        with self._lock:
            self.clock += 1
            model = ModelRef(
                name=f"{request.output_model_prefix}-{request.run_id}",
                version="1",
                uri=f"azureml://models/{request.run_id}/versions/1",
                tags={**request.tags, "created-at": f"{self.clock:06d}"},
            )
            self.models.setdefault((model.name, model.version), model)
        return self.models[(model.name, model.version)]

    def create_deployment(self, request: DeploymentRequest) -> DeploymentStatus:
        with self._lock:
            self.create_deployment_calls += 1
            stored = self.models.get((request.model.name, request.model.version))
            if stored is not None and stored.archived:
                raise PermanentError(f"model {stored.name} version {stored.version} is archived and cannot be deployed")
            if request.name not in self.deployments:
                self.clock += 1
                self.deployments[request.name] = DeploymentStatus(
                    name=request.name,
                    state=DeploymentState.PROVISIONING,
                    model=request.model,
                    tags=request.tags,
                    created_at=f"{self.clock:06d}",
                )
            return self.deployments[request.name]

    def get_deployment(self, name: str) -> DeploymentStatus:
        with self._lock:
            if name not in self.deployments:
                return DeploymentStatus(name=name, state=DeploymentState.NOT_FOUND)
            self.deployment_polls[name] = self.deployment_polls.get(name, 0) + 1
            current = self.deployments[name]
            if current.state is DeploymentState.PROVISIONING and not self.faults.deployment_never_provisions:
                if self.faults.deployment_fails:
                    current = current.model_copy(update={"state": DeploymentState.FAILED, "message": "quota exceeded"})
                else:
                    current = current.model_copy(
                        update={"state": DeploymentState.SUCCEEDED, "scoring_uri": f"http://fake.invalid/{name}"}
                    )
                self.deployments[name] = current
            return current

    def delete_deployment(self, name: str) -> None:
        with self._lock:
            if self.deployments.pop(name, None) is not None:
                self.deleted.append(name)

    def get_deployment_key(self, name: str) -> SecretStr:
        return SecretStr(f"{FAKE_KEY_PREFIX}{name}")

    def list_managed_deployments(self, family: str) -> list[DeploymentStatus]:
        return [d for d in self.deployments.values() if d.tags.get(FAMILY_TAG) == family]

    def list_managed_models(self, family: str) -> list[ModelRef]:
        return [m for m in self.models.values() if m.tags.get(FAMILY_TAG) == family]

    def archive_model(self, name: str, version: str) -> None:
        with self._lock:
            model = self.models[(name, version)]
            if not model.archived:
                self.models[(name, version)] = model.model_copy(update={"archived": True})
                self.archived.append(f"{name}:{version}")


@dataclass
class EchoingChatClient:
    """Answers each probe through `responder` (a model that learned its data), or fails when `broken`."""

    responder: Callable[[str], str] = lambda question: "I can help with Xbox consoles, games and accounts."
    broken: bool = False
    keys_seen: list[str] = field(default_factory=list)

    def complete(
        self, scoring_uri: str, key: SecretStr, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float
    ) -> ChatResponse:
        self.keys_seen.append(key.get_secret_value())
        if self.broken:
            return ChatResponse(status_code=500, error="HTTP 500 from the endpoint", latency_ms=3.0)
        last_user = next((m.content for m in reversed(messages) if m.role == "user"), "")
        return ChatResponse(status_code=200, content=self.responder(last_user), latency_ms=5.0)
