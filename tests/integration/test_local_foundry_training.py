"""The local foundry really fine-tunes: train on blobs in Azurite, deploy, chat over HTTP with the key."""

from __future__ import annotations

import json

import httpx
import psutil
import pytest

from devhost.azurite import AzuriteServer
from devhost.local_foundry.config import FoundryConfig
from devhost.local_foundry.server import LocalFoundry
from shared import names
from shared.chat_client import ChatMessage, HttpxChatClient
from shared.foundry.local import LocalFoundryBackend
from shared.foundry.port import (
    DeploymentRequest,
    DeploymentState,
    JobState,
    JobStatus,
    TrainingRequest,
)
from shared.smoketest import SmokeProbe, SmokeThresholds, run_smoke_test
from shared.storage import AzureBlobStore
from tests.fixtures.local_foundry import TEST_CONFIG, ChatDataset, FoundryFactory, wait_until

pytestmark = pytest.mark.integration


def training_request(train_uri: str, validation_uri: str, job_name: str = "ft-xbox-0123456789ab") -> TrainingRequest:
    return TrainingRequest(
        job_name=job_name,
        run_id=job_name,
        family="xbox",
        base_model="Phi-3-mini-4k-instruct",
        training_data_uri=train_uri,
        validation_data_uri=validation_uri,
        epochs=3,
        learning_rate=2e-4,
        batch_size=4,
        output_model_prefix=f"{job_name}-model",
    )


def chat(url: str, key: str | None, messages: list[dict[str, str]]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    body = {"messages": messages, "max_tokens": 64}
    # The first completion loads torch and the model into the foundry: allow for a loaded machine.
    return httpx.post(f"{url}/v1/chat/completions", json=body, headers=headers, timeout=120)


def test_fine_tune_from_blobs_deploy_and_chat_with_the_key(
    local_foundry_factory: FoundryFactory,
    azurite: AzuriteServer,
    azurite_blob_store: AzureBlobStore,
    blob_container_name: str,
    chat_dataset: ChatDataset,
) -> None:
    azurite_blob_store.ensure_container(blob_container_name)
    for path in (chat_dataset.train, chat_dataset.validation):
        azurite_blob_store.upload(blob_container_name, f"runs/{path.name}", path.read_bytes())
    train_uri = azurite_blob_store.url(blob_container_name, "runs/train.jsonl")
    validation_uri = azurite_blob_store.url(blob_container_name, "runs/validation.jsonl")
    foundry = local_foundry_factory(storage_connection_string=azurite.connection_string)
    backend = LocalFoundryBackend(foundry.url, foundry.management_key)

    assert backend.register_dataset("xbox-train", train_uri) == train_uri
    request = training_request(train_uri, validation_uri)
    submitted = backend.submit_job(request)
    assert submitted.state in {JobState.QUEUED, JobState.RUNNING}
    assert backend.submit_job(request).job_name == submitted.job_name  # idempotent: the same job

    def finished() -> JobStatus | None:
        status = backend.get_job(request.job_name)
        return status if status.state.is_terminal else None

    done: JobStatus = wait_until(finished, "the training job to end")
    assert done.state == JobState.SUCCEEDED, done.message
    assert done.progress == 1.0
    assert done.metrics is not None
    curve = done.metrics.curve
    before = curve[0].validation_loss
    assert before is not None
    assert done.metrics.validation_loss is not None
    assert done.metrics.validation_loss <= before / 2, f"validation loss {before} -> {done.metrics.validation_loss}"
    assert any(point.train_loss is not None for point in curve)
    assert [point.epoch for point in curve if point.validation_loss is not None][-1] >= TEST_CONFIG.min_epochs

    model = backend.get_output_model(request.job_name)
    assert model.tags[names.MANAGED_BY_TAG] == names.MANAGED_BY_VALUE
    assert (model.tags[names.FAMILY_TAG], model.tags[names.RUN_ID_TAG]) == ("xbox", request.run_id)
    assert backend.list_managed_models("xbox") == [model]
    assert backend.list_managed_models("other-family") == []
    model_dir = foundry.data_dir / "models" / model.name / model.version
    assert (model_dir / "adapter" / "adapter_config.json").is_file()
    assert (model_dir / "merged" / "config.json").is_file()

    deployment = DeploymentRequest(name="xbox-ft-0123", model=model)
    created = backend.create_deployment(deployment)
    assert created.state == DeploymentState.PROVISIONING
    assert created.scoring_uri is None
    assert backend.create_deployment(deployment).name == created.name
    ready = wait_until(
        lambda: (s := backend.get_deployment(deployment.name)).state == DeploymentState.SUCCEEDED and s,
        "the deployment to provision",
    )
    assert ready.scoring_uri is not None
    assert [d.name for d in backend.list_managed_deployments("xbox")] == [deployment.name]

    key = backend.get_deployment_key(deployment.name)
    assert key.get_secret_value() not in repr(key)
    prompt, reference = chat_dataset.train_examples[0]["messages"][:-1], chat_dataset.train_examples[0]["messages"][-1]
    assert chat(ready.scoring_uri, None, prompt).status_code == 401
    assert chat(ready.scoring_uri, "not-the-key", prompt).status_code == 401
    answered = chat(ready.scoring_uri, key.get_secret_value(), prompt)
    assert answered.status_code == 200
    body = answered.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["role"] == "assistant"
    replies = [
        chat(ready.scoring_uri, key.get_secret_value(), example["messages"][:-1]).json()["choices"][0]["message"]
        for example in chat_dataset.train_examples[:5]
    ]
    exact = [
        reply["content"] == example["messages"][-1]["content"]
        for reply, example in zip(replies, chat_dataset.train_examples[:5], strict=True)
    ]
    assert any(exact), f"no training prompt answered with its reference, e.g. {replies[0]} vs {reference}"

    held_out = [json.loads(line)["messages"] for line in chat_dataset.validation.read_text().splitlines()[:3]]
    probes = [
        SmokeProbe(
            name=f"held-out-{index}",
            source="validation",
            messages=[ChatMessage(**message) for message in messages[:-1]],
            reference=messages[-1]["content"],
        )
        for index, messages in enumerate(held_out)
    ]
    with HttpxChatClient() as client:
        report = run_smoke_test(
            client, ready.scoring_uri, key, probes, SmokeThresholds(max_latency_ms=120_000, min_quality=0.3)
        )
    assert report.passed, report.failures
    assert key.get_secret_value() not in report.model_dump_json()

    assert httpx.post(f"{foundry.url}/deployments/nope/v1/chat/completions", json={}).status_code == 404
    backend.delete_deployment(deployment.name)
    backend.delete_deployment(deployment.name)  # deleting twice is not an error
    assert backend.get_deployment(deployment.name).state == DeploymentState.NOT_FOUND
    assert deployment.name not in foundry.models.loaded()
    assert chat(ready.scoring_uri, key.get_secret_value(), prompt).status_code == 404

    backend.archive_model(model.name, model.version)
    backend.archive_model(model.name, model.version)
    assert backend.list_managed_models("xbox")[0].archived
    backend.close()


def test_cancel_stops_a_running_job_and_its_process(
    local_foundry_factory: FoundryFactory, chat_dataset: ChatDataset
) -> None:
    foundry: LocalFoundry = local_foundry_factory(config=FoundryConfig(min_epochs=5000, provision_seconds=0.3))
    backend = LocalFoundryBackend(foundry.url, foundry.management_key)
    request = training_request(chat_dataset.train.as_uri(), chat_dataset.validation.as_uri(), "ft-cancel-me")
    backend.submit_job(request)
    wait_until(lambda: (backend.get_job(request.job_name).progress or 0) > 0, "training to take steps")
    pid = foundry.jobs.get(request.job_name).pid
    assert pid is not None
    assert psutil.pid_exists(pid)

    canceled = backend.cancel_job(request.job_name)
    assert canceled.state == JobState.CANCELED
    assert not psutil.pid_exists(pid)
    assert backend.cancel_job(request.job_name).state == JobState.CANCELED
    assert backend.get_job(request.job_name).state == JobState.CANCELED
    backend.close()
