"""The local foundry on the examples set: a whole fine-tune job, its loss, and what the endpoint learned.

Figures: `train_seconds` (submit to succeeded, process start included), `val_loss_before` (the untrained
model: the baseline, measured in the same job), `val_loss_after`, their ratio, and `exact_matches`: how
many training prompts the deployed endpoint answers with exactly their reference reply.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.result import BenchmarkResult, Target
from devhost.local_foundry.config import FoundryConfig
from devhost.local_foundry.sample_data import generate_examples, write_jsonl
from devhost.local_foundry.server import LocalFoundry
from shared.foundry.local import LocalFoundryBackend
from shared.foundry.port import DeploymentRequest, DeploymentState, JobState, TrainingRequest
from shared.settings import Settings

EXAMPLES_FILE = Path(__file__).resolve().parents[1] / "examples" / "xbox-support.jsonl"
VALIDATION_SHARE = 0.2
SEED = 0
TIMEOUT_SECONDS = 1800.0


def _examples() -> tuple[str, list[dict[str, Any]]]:
    if EXAMPLES_FILE.is_file():
        lines = EXAMPLES_FILE.read_text(encoding="utf-8-sig").splitlines()
        return EXAMPLES_FILE.name, [json.loads(line) for line in lines if line.strip()]
    return "generated", generate_examples(40)


def _wait(condition: Any, what: str) -> Any:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"benchmark: timed out waiting for {what}")
        time.sleep(0.2)
    return value


def run() -> BenchmarkResult:
    """Fine-tune on a seeded 80/20 split of the examples with the service's default options, deploy, probe."""
    source, examples = _examples()
    random.Random(SEED).shuffle(examples)
    cut = round(len(examples) * (1 - VALIDATION_SHARE))
    train, validation = examples[:cut], examples[cut:]
    settings = Settings()
    with tempfile.TemporaryDirectory(prefix="bench-foundry-") as folder:
        root = Path(folder)
        train_path = write_jsonl(root / "train.jsonl", train)
        validation_path = write_jsonl(root / "validation.jsonl", validation)
        config = FoundryConfig.from_settings(settings).model_copy(update={"provision_seconds": 0.2})
        with (
            LocalFoundry(root / "foundry", config=config) as foundry,
            LocalFoundryBackend(foundry.url, foundry.management_key) as backend,
        ):
            request = TrainingRequest(
                job_name="bench-local-foundry",
                run_id="bench-local-foundry",
                family="bench",
                base_model=settings.default_base_model,
                training_data_uri=train_path.as_uri(),
                validation_data_uri=validation_path.as_uri(),
                epochs=settings.default_epochs,
                learning_rate=settings.default_learning_rate,
                batch_size=settings.default_batch_size,
                output_model_prefix="bench-model",
            )
            started = time.perf_counter()
            backend.submit_job(request)
            done = _wait(lambda: (s := backend.get_job(request.job_name)).state.is_terminal and s, "the job")
            train_seconds = time.perf_counter() - started
            if done.state != JobState.SUCCEEDED or done.metrics is None:
                raise RuntimeError(f"benchmark: the job ended {done.state.value}: {done.message}")
            before = done.metrics.curve[0].validation_loss
            after = done.metrics.validation_loss
            model = backend.get_output_model(request.job_name)
            backend.create_deployment(DeploymentRequest(name="bench", model=model))
            ready = _wait(
                lambda: (s := backend.get_deployment("bench")).state == DeploymentState.SUCCEEDED and s, "deployment"
            )
            key = backend.get_deployment_key("bench").get_secret_value()
            exact = 0
            for example in train:
                reply = httpx.post(
                    f"{ready.scoring_uri}/v1/chat/completions",
                    json={"messages": example["messages"][:-1], "max_tokens": 256},
                    headers={"Authorization": f"Bearer {key}"},
                    timeout=300,
                ).json()["choices"][0]["message"]["content"]
                exact += reply.strip() == example["messages"][-1]["content"].strip()
    assert before is not None
    assert after is not None
    return BenchmarkResult(
        figures={
            "dataset": source,
            "train_examples": len(train),
            "validation_examples": len(validation),
            "epochs": config.effective_epochs(settings.default_epochs),
            "train_seconds": round(train_seconds, 1),
            "val_loss_before": round(before, 4),
            "val_loss_after": round(after, 4),
            "val_loss_ratio": round(after / before, 4),
            "exact_matches": exact,
        },
        targets=[
            Target("train_seconds", "<=", 60),
            Target("val_loss_ratio", "<=", 0.5),
            Target("exact_matches", ">=", 1),
        ],
    )
