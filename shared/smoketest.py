"""The smoke test of a freshly deployed model: real chat completions, checked, scored, reported.

Probes are the configured prompts plus a seeded sample of held-out validation examples. Each probe
must answer HTTP 200 with a well-formed, non-empty completion within the latency threshold and match
its expected pattern, if any. Probes with a reference answer are scored (token F1 or ROUGE-L); the
mean must reach the quality threshold. The endpoint key is an argument, used for the calls only: it
is never part of the report, a log line or an exception.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from shared.chat_client import ChatEndpointClient, ChatMessage, HttpxChatClient, RetryPolicy, redact
from shared.textscore import ScoreMetric, score

if TYPE_CHECKING:
    from shared.settings import Settings

__all__ = [
    "ChatEndpointClient",
    "ChatMessage",
    "HeldOutExample",
    "HttpxChatClient",
    "ProbeResult",
    "SmokeProbe",
    "SmokePrompt",
    "SmokeReport",
    "SmokeThresholds",
    "build_probes",
    "held_out_example",
    "held_out_examples_from_jsonl",
    "run_smoke_test",
    "smoke_client_from_settings",
    "smoke_thresholds_from_settings",
]

logger = logging.getLogger(__name__)

_EXCERPT_CHARS = 300


def _check_pattern(pattern: str | None) -> str | None:
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as error:
            raise ValueError(f"expect_regex {pattern!r} is not a valid regular expression: {error}") from None
    return pattern


class SmokePrompt(BaseModel):
    """A configured smoke prompt: the user's words, an optional system message and expected pattern."""

    model_config = ConfigDict(frozen=True)

    prompt: str = Field(min_length=1)
    system: str | None = None
    expect_regex: str | None = Field(None, description="re.search pattern the reply must match.")

    _check = field_validator("expect_regex")(_check_pattern)

    @model_validator(mode="before")
    @classmethod
    def _from_bare_string(cls, value: object) -> object:
        return {"prompt": value} if isinstance(value, str) else value


class HeldOutExample(BaseModel):
    """A held-out validation example: the conversation up to the last assistant turn, and that turn."""

    model_config = ConfigDict(frozen=True)

    messages: list[ChatMessage] = Field(min_length=1)
    reference: str


class SmokeProbe(BaseModel):
    """One chat call the smoke test makes, with what its reply must satisfy."""

    model_config = ConfigDict(frozen=True)

    name: str
    source: Literal["prompt", "validation"]
    messages: list[ChatMessage] = Field(min_length=1)
    reference: str | None = None
    expect_regex: str | None = None

    _check = field_validator("expect_regex")(_check_pattern)


class SmokeThresholds(BaseModel):
    """What a passing smoke test needs, and how the probes are sent."""

    model_config = ConfigDict(frozen=True)

    max_latency_ms: float = Field(30_000.0, gt=0)
    min_quality: float = Field(0.1, ge=0, le=1, description="Lowest mean score over probes with a reference.")
    metric: ScoreMetric = "rouge_l"
    max_tokens: int = Field(256, ge=1)
    temperature: float = Field(0.0, ge=0, le=2)


class ProbeResult(BaseModel):
    """The outcome of one probe; `failures` lists every check it failed, in words."""

    name: str
    source: Literal["prompt", "validation"]
    passed: bool
    status_code: int | None = None
    latency_ms: float | None = None
    attempts: int = 1
    score: float | None = None
    reply_excerpt: str = ""
    failures: list[str] = Field(default_factory=list)


class SmokeReport(BaseModel):
    """The smoke test's verdict on one endpoint. Carries no key."""

    passed: bool
    endpoint: str = Field(description="The scoring URI tested (without query string).")
    metric: ScoreMetric
    aggregate_score: float | None = Field(None, description="Mean score of the probes with a reference.")
    thresholds: SmokeThresholds
    probes: list[ProbeResult]
    failures: list[str] = Field(default_factory=list, description="Why the test failed, one line per reason.")


def held_out_example(messages: Sequence[ChatMessage]) -> HeldOutExample:
    """Split a chat example into its prompt (everything before the last assistant turn) and that turn."""
    for index in range(len(messages) - 1, 0, -1):
        if messages[index].role == "assistant":
            return HeldOutExample(messages=list(messages[:index]), reference=messages[index].content)
    raise ValueError("a held-out example needs an assistant message after at least one other message")


def held_out_examples_from_jsonl(text: str, *, source: str = "validation file") -> list[HeldOutExample]:
    """The held-out examples of a chat JSONL file (one `{"messages": [...]}` per line; blank lines skipped).

    A line that is not a chat example ending in an assistant turn is a `ValueError` naming the line.
    """
    examples: list[HeldOutExample] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = _ChatRecord.model_validate_json(line)
            examples.append(held_out_example(record.messages))
        except (ValidationError, ValueError) as error:
            reason = error.errors()[0]["msg"] if isinstance(error, ValidationError) else str(error)
            raise ValueError(f"{source} line {number}: {reason}") from None
    return examples


class _ChatRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    messages: list[ChatMessage] = Field(min_length=1)


def build_probes(
    prompts: Sequence[SmokePrompt],
    examples: Sequence[HeldOutExample],
    *,
    sample_size: int,
    seed: str,
) -> list[SmokeProbe]:
    """The configured prompts, then `sample_size` held-out examples chosen reproducibly from `seed`."""
    probes = [
        SmokeProbe(
            name=f"prompt-{number}",
            source="prompt",
            messages=[
                *([ChatMessage(role="system", content=prompt.system)] if prompt.system else []),
                ChatMessage(role="user", content=prompt.prompt),
            ],
            expect_regex=prompt.expect_regex,
        )
        for number, prompt in enumerate(prompts, start=1)
    ]
    sampler = random.Random(seed)  # noqa: S311 - a reproducible sample, not a secret
    chosen = sorted(sampler.sample(range(len(examples)), min(sample_size, len(examples))))
    probes.extend(
        SmokeProbe(
            name=f"validation-{index + 1}",
            source="validation",
            messages=examples[index].messages,
            reference=examples[index].reference,
        )
        for index in chosen
    )
    return probes


def run_smoke_test(
    client: ChatEndpointClient,
    scoring_uri: str,
    key: SecretStr,
    probes: Sequence[SmokeProbe],
    thresholds: SmokeThresholds,
) -> SmokeReport:
    """Send every probe to the endpoint and judge the answers; see the module docstring for the checks."""
    results = [_run_probe(client, scoring_uri, key, probe, thresholds) for probe in probes]
    scores = [result.score for result in results if result.score is not None]
    aggregate = sum(scores) / len(scores) if scores else None
    failures: list[str] = []
    if not probes:
        failures.append("no probes: configure SMOKE_PROMPTS or provide held-out validation examples")
    failed = [result.name for result in results if not result.passed]
    if failed:
        failures.append(f"{len(failed)} of {len(results)} probes failed: {', '.join(failed)}")
    if aggregate is not None and aggregate < thresholds.min_quality:
        failures.append(
            f"mean {thresholds.metric} {aggregate:.3f} is below the quality threshold {thresholds.min_quality:.3f}"
        )
    report = SmokeReport(
        passed=not failures,
        endpoint=scoring_uri.split("?", 1)[0],
        metric=thresholds.metric,
        aggregate_score=aggregate,
        thresholds=thresholds,
        probes=results,
        failures=failures,
    )
    logger.info(
        "smoke test of %s: %s (%d probes, mean %s %s)",
        report.endpoint,
        "passed" if report.passed else "failed",
        len(results),
        thresholds.metric,
        "n/a" if aggregate is None else f"{aggregate:.3f}",
    )
    return report


def _run_probe(
    client: ChatEndpointClient,
    scoring_uri: str,
    key: SecretStr,
    probe: SmokeProbe,
    thresholds: SmokeThresholds,
) -> ProbeResult:
    response = client.complete(
        scoring_uri, key, probe.messages, max_tokens=thresholds.max_tokens, temperature=thresholds.temperature
    )
    failures: list[str] = []
    content = response.content
    if response.error is not None:
        failures.append(response.error)
    elif content is None or not content.strip():
        failures.append("the reply is empty")
    if response.latency_ms is not None and response.latency_ms > thresholds.max_latency_ms:
        failures.append(f"latency {response.latency_ms:.0f} ms is over the {thresholds.max_latency_ms:.0f} ms limit")
    if content and probe.expect_regex is not None and re.search(probe.expect_regex, content) is None:
        failures.append(f"the reply does not match {probe.expect_regex!r}")
    probe_score = None
    if probe.reference is not None and response.error is None:
        probe_score = score(thresholds.metric, content or "", probe.reference)
    return ProbeResult(
        name=probe.name,
        source=probe.source,
        passed=not failures,
        status_code=response.status_code,
        latency_ms=response.latency_ms,
        attempts=response.attempts,
        score=probe_score,
        reply_excerpt=redact((content or "")[:_EXCERPT_CHARS], key),
        failures=[redact(failure, key) for failure in failures],
    )


def smoke_thresholds_from_settings(settings: Settings) -> SmokeThresholds:
    """The thresholds the `SMOKE_*` settings declare."""
    return SmokeThresholds(
        max_latency_ms=settings.smoke_max_latency_ms,
        min_quality=settings.smoke_min_quality,
        metric=settings.smoke_metric,
        max_tokens=settings.smoke_max_tokens,
        temperature=settings.smoke_temperature,
    )


def smoke_client_from_settings(settings: Settings) -> HttpxChatClient:
    """An httpx chat client with the time-out and retry budget the `SMOKE_*` settings declare."""
    return HttpxChatClient(
        timeout=httpx.Timeout(settings.smoke_request_timeout_seconds, connect=10.0),
        retry=RetryPolicy(max_attempts=settings.smoke_max_attempts),
    )
