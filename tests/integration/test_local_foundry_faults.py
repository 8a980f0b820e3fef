"""Injected and real failures of the local foundry, each reported as a normalised status."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from devhost.local_foundry.config import FoundryConfig, FoundryFaults
from devhost.local_foundry.server import LocalFoundry
from shared.chat_client import ChatMessage, HttpxChatClient, RetryPolicy
from shared.errors import PermanentError, TransientError
from shared.foundry.local import LocalFoundryBackend
from shared.foundry.port import DeploymentRequest, DeploymentState, JobState, ModelRef, TrainingRequest
from tests.fixtures.local_foundry import ChatDataset, FoundryFactory, wait_until

pytestmark = pytest.mark.integration


def request_for(job_name: str, train_uri: str, validation_uri: str) -> TrainingRequest:
    return TrainingRequest(
        job_name=job_name,
        run_id=job_name,
        family="faults",
        base_model="Phi-3-mini-4k-instruct",
        training_data_uri=train_uri,
        validation_data_uri=validation_uri,
        epochs=1,
        learning_rate=1e-3,
        batch_size=4,
        output_model_prefix=f"{job_name}-model",
    )


def register_placeholder_model(foundry: LocalFoundry, name: str) -> ModelRef:
    """A model version whose checkpoint folder exists (enough for faults raised before any generation)."""

    def place(version: str) -> Path:
        folder = foundry.data_dir / "models" / name / version
        (folder / "merged").mkdir(parents=True)
        return folder

    record = foundry.registry.add_model(name, place, {"family": "faults"}, job_name="none")
    return ModelRef(name=record.name, version=record.version, uri="local://placeholder")


def test_failing_jobs_end_failed_with_their_reason(
    local_foundry_factory: FoundryFactory, chat_dataset: ChatDataset
) -> None:
    foundry = local_foundry_factory(
        config=FoundryConfig(max_concurrent_jobs=2, min_epochs=3),
        faults=FoundryFaults(fail_jobs=["*-doomed"]),
    )
    backend = LocalFoundryBackend(foundry.url, foundry.management_key)
    train, validation = chat_dataset.train.as_uri(), chat_dataset.validation.as_uri()
    doomed = backend.submit_job(request_for("ft-doomed", train, validation))
    missing = backend.submit_job(
        request_for("ft-missing", (chat_dataset.train.parent / "nope.jsonl").as_uri(), validation)
    )

    for job, reason in ((doomed, "injected fault"), (missing, "data file not found")):
        ended = wait_until(lambda job=job: (s := backend.get_job(job.job_name)).state.is_terminal and s, job.job_name)
        assert ended.state == JobState.FAILED
        assert reason in ended.message
        with pytest.raises(PermanentError, match="no output model"):
            backend.get_output_model(job.job_name)
    backend.close()


def test_bad_requests_are_refused_with_what_is_wrong(local_foundry: LocalFoundry, chat_dataset: ChatDataset) -> None:
    backend = LocalFoundryBackend(local_foundry.url, local_foundry.management_key)
    bad = request_for("ft bad/name", "https://example.com/data.jsonl", chat_dataset.validation.as_uri())
    with pytest.raises(PermanentError) as refused:
        backend.submit_job(bad.model_copy(update={"epochs": 0}))
    for words in ("job_name", "epochs must be at least 1", "127.0.0.1 only"):
        assert words in str(refused.value)
    with pytest.raises(PermanentError, match="no training job named"):
        backend.get_job("ft-unknown")
    with pytest.raises(PermanentError, match="no model"):
        backend.create_deployment(
            DeploymentRequest(name="d", model=ModelRef(name="ghost", version="1", uri="local://ghost"))
        )
    backend.close()


def test_the_management_api_needs_the_management_key(local_foundry: LocalFoundry) -> None:
    key = local_foundry.management_key.get_secret_value()
    url = f"{local_foundry.url}/api/deployments"

    missing = httpx.get(url, timeout=30)
    wrong = httpx.get(url, headers={"Authorization": "Bearer not-the-key"}, timeout=30)
    right = httpx.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=30)

    assert missing.status_code == wrong.status_code == 401
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert "management key" in missing.json()["error"]["message"]
    assert key not in missing.text
    assert right.status_code == 200
    assert httpx.get(f"{local_foundry.url}/api/health", timeout=30).status_code == 200
    with LocalFoundryBackend(local_foundry.url) as keyless, pytest.raises(PermanentError, match="refused \\(401\\)"):
        keyless.list_managed_deployments("any")


def test_a_stuck_deployment_stays_provisioning_and_a_failed_one_reports_failed(
    local_foundry_factory: FoundryFactory,
) -> None:
    foundry = local_foundry_factory(faults=FoundryFaults(stuck_deployments=["stuck-*"], failed_deployments=["bad-*"]))
    backend = LocalFoundryBackend(foundry.url, foundry.management_key)
    model = register_placeholder_model(foundry, "placeholder")
    backend.create_deployment(DeploymentRequest(name="stuck-1", model=model))
    backend.create_deployment(DeploymentRequest(name="bad-1", model=model))
    backend.create_deployment(DeploymentRequest(name="fine-1", model=model))

    wait_until(lambda: backend.get_deployment("fine-1").state == DeploymentState.SUCCEEDED, "fine-1 to provision")
    failed = wait_until(
        lambda: (s := backend.get_deployment("bad-1")).state != DeploymentState.PROVISIONING and s, "bad-1"
    )
    assert failed.state == DeploymentState.FAILED
    assert "provisioning failed" in failed.message
    time.sleep(foundry.config.provision_seconds * 3)
    assert backend.get_deployment("stuck-1").state == DeploymentState.PROVISIONING
    assert backend.get_deployment("stuck-1").scoring_uri is None
    with pytest.raises(PermanentError, match="is deployed"):
        backend.archive_model(model.name, model.version)
    backend.close()


@pytest.mark.parametrize(("fault", "expected"), [("endpoint_errors", "500"), ("endpoint_garbage", "malformed")])
def test_a_faulty_endpoint_is_reported_by_the_chat_client(
    local_foundry_factory: FoundryFactory, fault: str, expected: str
) -> None:
    foundry = local_foundry_factory(faults=FoundryFaults(**{fault: ["flaky"]}))
    backend = LocalFoundryBackend(foundry.url, foundry.management_key)
    model = register_placeholder_model(foundry, "placeholder")
    backend.create_deployment(DeploymentRequest(name="flaky", model=model))
    ready = wait_until(lambda: (s := backend.get_deployment("flaky")).state == DeploymentState.SUCCEEDED and s, "flaky")
    key = backend.get_deployment_key("flaky")
    assert ready.scoring_uri is not None
    policy = RetryPolicy(max_attempts=2, initial_backoff_seconds=0)
    with HttpxChatClient(retry=policy) as client:
        answer = client.complete(
            ready.scoring_uri, key, [ChatMessage(role="user", content="hi")], max_tokens=8, temperature=0
        )
        refused = client.complete(
            ready.scoring_uri, SecretStr("wrong"), [ChatMessage(role="user", content="hi")], max_tokens=8, temperature=0
        )
    assert answer.error is not None
    assert expected in answer.error
    assert refused.status_code == 401
    backend.close()


def test_an_unreachable_foundry_is_a_transient_error(local_foundry_factory: FoundryFactory) -> None:
    foundry = local_foundry_factory()
    url = foundry.url
    foundry.stop()
    with LocalFoundryBackend(url, timeout_seconds=5) as backend, pytest.raises(TransientError):
        backend.get_job("anything")
