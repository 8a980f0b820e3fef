"""Local foundry pieces without servers: label masking, config rules, faults, recovery, keys, the adapter's mapping."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from devhost.local_foundry.chat_data import ChatExample, DatasetError, check_uri, parse_jsonl
from devhost.local_foundry.chat_format import END
from devhost.local_foundry.config import FoundryConfig, FoundryFaults
from devhost.local_foundry.deployments import KeyStore
from devhost.local_foundry.jobs import JobRunner
from devhost.local_foundry.registry import JobRecord, Registry
from devhost.local_foundry.sample_data import generate_examples
from devhost.local_foundry.tokenizer import render, train_tokenizer
from devhost.local_foundry.training import IGNORE, encode
from shared.errors import PermanentError, TransientError
from shared.foundry.local import LocalFoundryBackend
from shared.foundry.port import DeploymentState, JobState, TrainingRequest

EXAMPLES = [ChatExample.model_validate(example) for example in generate_examples(12)]


def test_only_assistant_replies_and_their_end_token_are_labels() -> None:
    tokenizer = train_tokenizer(EXAMPLES, vocab_size=400)
    example = EXAMPLES[0]
    encoded = encode(example, tokenizer, max_len=512)
    labelled = [token for token in encoded.labels if token != IGNORE]
    assert tokenizer.decode(labelled) == example.messages[-1].content + END
    assert len(encoded.labels) == len(encoded.input_ids)
    for special in ("<|system|>", "<|user|>", "<|assistant|>", "<|end|>", "<|endoftext|>"):
        assert len(tokenizer.encode(special, add_special_tokens=False)) == 1
    messages = [m.model_dump(exclude={"weight"}) for m in example.messages]
    assert tokenizer.apply_chat_template(messages, tokenize=False) == render(example)


def test_an_assistant_message_with_weight_zero_is_not_learned() -> None:
    tokenizer = train_tokenizer(EXAMPLES, vocab_size=400)
    data = EXAMPLES[1].model_dump()
    data["messages"][-1]["weight"] = 0
    assert all(token == IGNORE for token in encode(ChatExample.model_validate(data), tokenizer, 512).labels)


def test_bad_jsonl_names_the_file_and_line() -> None:
    good = json.dumps(generate_examples(1)[0])
    with pytest.raises(DatasetError, match=r"train\.jsonl, line 2: not a chat example"):
        parse_jsonl(good + "\n{not json}\n", "train.jsonl")
    with pytest.raises(DatasetError, match="line 1: the conversation has no assistant message"):
        parse_jsonl(json.dumps({"messages": [{"role": "user", "content": "hi"}]}), "x.jsonl")
    with pytest.raises(DatasetError, match=r"127\.0\.0\.1 only"):
        check_uri("https://account.blob.core.windows.net/c/b.jsonl")


def test_the_tiny_model_trains_at_least_the_minimum_and_real_weights_get_the_request() -> None:
    tiny = FoundryConfig(min_epochs=20, min_learning_rate=5e-3)
    assert (tiny.effective_epochs(3), tiny.effective_learning_rate(2e-4)) == (20, 5e-3)
    assert (tiny.effective_epochs(30), tiny.effective_learning_rate(1e-2)) == (30, 1e-2)
    real = FoundryConfig(base_model_path="/models/phi-3", min_epochs=20)
    assert (real.effective_epochs(3), real.effective_learning_rate(2e-4)) == (3, 2e-4)


def test_faults_read_comma_separated_patterns_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_FOUNDRY_FAULT_FAIL_JOBS", "ft-bad-*, ft-worse")
    faults = FoundryFaults()
    assert faults.fail_jobs == ["ft-bad-*", "ft-worse"]
    assert faults.matches(faults.fail_jobs, "ft-bad-1")
    assert not faults.matches(faults.fail_jobs, "ft-good")
    assert not faults.matches(faults.endpoint_errors, "any")


def _request(name: str) -> TrainingRequest:
    return TrainingRequest(
        job_name=name,
        run_id=name,
        family="f",
        base_model="Phi-3-mini-4k-instruct",
        training_data_uri="file:///t.jsonl",
        validation_data_uri="file:///v.jsonl",
        epochs=1,
        learning_rate=1e-3,
        batch_size=2,
        output_model_prefix="m",
    )


def test_jobs_left_running_restart_until_their_attempts_are_spent(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry.sqlite3")
    for name, attempts in (("ft-once", 1), ("ft-twice", 2)):
        registry.insert_job(
            JobRecord(
                name=name,
                request=_request(name),
                state=JobState.RUNNING,
                epochs=1,
                learning_rate=1e-3,
                attempts=attempts,
                pid=2**22 + 7,
                pid_started_at=1.0,
            )
        )
    JobRunner(registry, tmp_path, FoundryConfig(max_job_attempts=2), FoundryFaults).recover()
    once, twice = registry.get_job("ft-once"), registry.get_job("ft-twice")
    assert once is not None
    assert twice is not None
    assert (once.state, once.pid) == (JobState.QUEUED, None)
    assert twice.state == JobState.FAILED
    assert "2 attempt(s)" in twice.message
    registry.close()


def test_deployment_keys_are_private_files_compared_exactly(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path / "keys")
    keys.create("d")
    key = keys.get("d")
    assert key is not None
    keys.create("d")
    assert keys.get("d") == key  # creating twice keeps the key
    assert (tmp_path / "keys" / "d.key").stat().st_mode & 0o777 == 0o600
    assert keys.accepts("d", key)
    assert not keys.accepts("d", key[:-1])
    assert not keys.accepts("d", None)
    assert not keys.accepts("other", key)


def _backend(status: int, body: object) -> LocalFoundryBackend:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body)

    return LocalFoundryBackend("http://127.0.0.1:1", transport=httpx.MockTransport(answer))


@pytest.mark.parametrize("status", [429, 500, 503])
def test_throttling_and_server_errors_are_transient(status: int) -> None:
    with pytest.raises(TransientError, match=str(status)):
        _backend(status, {"error": {"message": "busy"}}).get_job("j")


def test_refusals_are_permanent_with_the_foundrys_reason_and_a_missing_deployment_is_not_found() -> None:
    with pytest.raises(PermanentError, match="epochs must be at least 1"):
        _backend(400, {"error": {"message": "epochs must be at least 1"}}).submit_job(_request("j"))
    assert _backend(404, {"error": {"message": "no deployment"}}).get_deployment("d").state == DeploymentState.NOT_FOUND
    _backend(404, {"error": {"message": "no deployment"}}).delete_deployment("d")


def test_the_key_comes_back_as_a_secret() -> None:
    key = _backend(200, {"key": "s3cret-value"}).get_deployment_key("d")
    assert key.get_secret_value() == "s3cret-value"
    assert "s3cret-value" not in repr(key)


def test_submit_adds_the_managed_tags() -> None:
    sent: list[dict[str, object]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(201, json={"job_name": "j", "state": "queued"})

    backend = LocalFoundryBackend("http://127.0.0.1:1", transport=httpx.MockTransport(answer))
    assert backend.submit_job(_request("j")).state == JobState.QUEUED
    assert sent[0]["tags"] == {"managed-by": "phi-finetune-orchestrator", "family": "f", "run-id": "j"}
