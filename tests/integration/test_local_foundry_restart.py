"""The local foundry's registry survives a restart; real weights load through the same code as the tiny model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from devhost.local_foundry.chat_data import parse_jsonl
from devhost.local_foundry.config import FoundryConfig
from devhost.local_foundry.job_files import TinyModelShape
from devhost.local_foundry.model import save_tiny_base
from devhost.local_foundry.registry import JobRecord
from devhost.local_foundry.tokenizer import train_tokenizer
from shared import names
from shared.foundry.local import LocalFoundryBackend
from shared.foundry.port import DeploymentRequest, DeploymentState, JobState, JobStatus, TrainingRequest
from tests.fixtures.local_foundry import ChatDataset, FoundryFactory, wait_until
from tests.integration.test_local_foundry_faults import register_placeholder_model

pytestmark = pytest.mark.integration


def request_for(job_name: str, dataset: ChatDataset, epochs: int) -> TrainingRequest:
    return TrainingRequest(
        job_name=job_name,
        run_id=job_name,
        family="restart",
        base_model="Phi-3-mini-4k-instruct",
        training_data_uri=dataset.train.as_uri(),
        validation_data_uri=dataset.validation.as_uri(),
        epochs=epochs,
        learning_rate=5e-3,
        batch_size=4,
        output_model_prefix=f"{job_name}-model",
    )


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_restarted_foundry_keeps_models_deployments_keys_and_fails_orphaned_jobs(
    local_foundry_factory: FoundryFactory, tmp_path: Path, chat_dataset: ChatDataset
) -> None:
    data_dir = tmp_path / "kept"
    config = FoundryConfig(provision_seconds=0.2, max_job_attempts=1)
    first = local_foundry_factory(data_dir, config=config)
    backend = LocalFoundryBackend(first.url, first.management_key)
    model = register_placeholder_model(first, "kept-model")
    backend.create_deployment(DeploymentRequest(name="kept", model=model))
    wait_until(lambda: backend.get_deployment("kept").state == DeploymentState.SUCCEEDED, "the deployment")
    key = backend.get_deployment_key("kept").get_secret_value()
    orphan = request_for("ft-orphan", chat_dataset, 1)
    first.registry.insert_job(
        JobRecord(
            name=orphan.job_name,
            request=orphan,
            state=JobState.RUNNING,
            epochs=1,
            learning_rate=orphan.learning_rate,
            attempts=1,
            pid=dead_pid(),
            pid_started_at=1.0,
        )
    )
    first.stop()
    backend.close()

    second = local_foundry_factory(data_dir, config=config)
    with LocalFoundryBackend(second.url, second.management_key) as again:
        kept = again.get_deployment("kept")
        assert kept.state == DeploymentState.SUCCEEDED
        assert kept.model is not None
        assert kept.model.name == model.name
        assert again.get_deployment_key("kept").get_secret_value() == key
        assert [m.name for m in again.list_managed_models("faults")] == []  # placeholder lacks managed-by
        assert [m.name for m in second.registry.models()] == [model.name]
        failed: JobStatus = again.get_job(orphan.job_name)
        assert failed.state == JobState.FAILED
        assert "ended with the foundry" in failed.message
    assert (data_dir / "keys" / "kept.key").stat().st_mode & 0o777 == 0o600
    refused = httpx.post(f"{kept.scoring_uri}/v1/chat/completions", json={}, headers={"api-key": "wrong"})
    assert refused.status_code == 401


def test_real_weights_from_a_local_path_are_fine_tuned_with_the_requested_epochs(
    local_foundry_factory: FoundryFactory, tmp_path: Path, chat_dataset: ChatDataset
) -> None:
    # "Real weights": a Phi-3 checkpoint saved with save_pretrained, loaded back through from_pretrained.
    weights = tmp_path / "phi-3-weights"
    tokenizer = train_tokenizer(parse_jsonl(chat_dataset.train.read_text(), "train"), vocab_size=600)
    save_tiny_base(tokenizer, weights, seed=7, shape=TinyModelShape(hidden_size=64, intermediate_size=128))
    foundry = local_foundry_factory(config=FoundryConfig(base_model_path=str(weights), provision_seconds=0.2))
    backend = LocalFoundryBackend(foundry.url, foundry.management_key)
    request = request_for("ft-real-weights", chat_dataset, epochs=2)
    backend.submit_job(request)
    done = wait_until(lambda: (s := backend.get_job(request.job_name)).state.is_terminal and s, "the job")
    assert done.state == JobState.SUCCEEDED, done.message
    assert done.metrics is not None
    validation_epochs = [p.epoch for p in done.metrics.curve if p.validation_loss is not None]
    assert validation_epochs == [0.0, 1.0, 2.0]  # the request's epochs: no local minimum for real weights
    assert not (foundry.data_dir / "jobs" / request.job_name / "base").exists()  # no tokenizer or model made up

    model = backend.get_output_model(request.job_name)
    assert model.tags[names.FAMILY_TAG] == "restart"
    merged = foundry.data_dir / "models" / model.name / model.version / "merged"
    assert json.loads((merged / "config.json").read_text())["hidden_size"] == 64
    assert (
        json.loads((merged / "tokenizer.json").read_text())["model"]["vocab"]
        == json.loads((weights / "tokenizer.json").read_text())["model"]["vocab"]
    )

    backend.create_deployment(DeploymentRequest(name="real", model=model))
    ready = wait_until(lambda: (s := backend.get_deployment("real")).state == DeploymentState.SUCCEEDED and s, "real")
    answer = httpx.post(
        f"{ready.scoring_uri}/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "My controller has no sound."}], "max_tokens": 5},
        headers={"Authorization": f"Bearer {backend.get_deployment_key('real').get_secret_value()}"},
        timeout=120,
    )
    assert answer.status_code == 200
    assert answer.json()["usage"]["completion_tokens"] <= 5
    too_long = httpx.post(
        f"{ready.scoring_uri}/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "xyzzy " * 3000}]},
        headers={"api-key": backend.get_deployment_key("real").get_secret_value()},
        timeout=120,
    )
    assert too_long.status_code == 400
    assert "the model's context is 2048 tokens" in too_long.json()["error"]["message"]
    backend.close()
