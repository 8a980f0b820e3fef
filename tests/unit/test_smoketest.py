from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest
from pydantic import SecretStr, ValidationError

from shared.chat_client import ChatMessage, ChatResponse
from shared.settings import Settings
from shared.smoketest import (
    HeldOutExample,
    SmokeProbe,
    SmokePrompt,
    SmokeThresholds,
    build_probes,
    held_out_example,
    held_out_examples_from_jsonl,
    run_smoke_test,
    smoke_thresholds_from_settings,
)

KEY = SecretStr("endpoint-key-that-must-not-leak")
URI = "https://phi3-ft.eastus2.models.ai.azure.com"
THRESHOLDS = SmokeThresholds(max_latency_ms=1000, min_quality=0.5, metric="token_f1")


class ScriptedClient:
    """A `ChatEndpointClient` fake answering from a script keyed by the last user message."""

    def __init__(self, answers: dict[str, ChatResponse]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, str, list[ChatMessage]]] = []

    def complete(
        self, scoring_uri: str, key: SecretStr, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float
    ) -> ChatResponse:
        self.calls.append((scoring_uri, key.get_secret_value(), list(messages)))
        return self.answers[messages[-1].content]


def ok(content: str, latency_ms: float = 50.0) -> ChatResponse:
    return ChatResponse(status_code=200, content=content, latency_ms=latency_ms)


def probe(prompt: str, *, reference: str | None = None, expect: str | None = None) -> SmokeProbe:
    return SmokeProbe(
        name=prompt,
        source="validation" if reference else "prompt",
        messages=[ChatMessage(role="user", content=prompt)],
        reference=reference,
        expect_regex=expect,
    )


def test_good_answers_pass_with_their_scores() -> None:
    client = ScriptedClient({"hi": ok("Hello, I help with Xbox."), "wifi?": ok("open network settings now")})
    probes = [probe("hi", expect=r"(?i)xbox"), probe("wifi?", reference="open the network settings")]
    report = run_smoke_test(client, URI, KEY, probes, THRESHOLDS)
    assert report.passed, report.failures
    assert [p.passed for p in report.probes] == [True, True]
    assert report.probes[0].score is None
    assert report.aggregate_score == pytest.approx(report.probes[1].score)
    assert report.aggregate_score is not None
    assert report.aggregate_score > 0.5
    assert all(call[1] == KEY.get_secret_value() and call[0] == URI for call in client.calls)


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (ChatResponse(status_code=500, latency_ms=5, error="HTTP 500"), "HTTP 500"),
        (ChatResponse(status_code=200, latency_ms=5, error="malformed chat completion (body: x)"), "malformed"),
        (ok("   "), "the reply is empty"),
        (ok("fine", latency_ms=1500), "latency 1500 ms is over the 1000 ms limit"),
        (ok("I cannot help"), "does not match"),
        (ChatResponse(attempts=3, error="timed out (ReadTimeout)"), "timed out"),
    ],
)
def test_each_failed_check_fails_the_probe_and_the_test_with_a_reason(answer: ChatResponse, reason: str) -> None:
    report = run_smoke_test(ScriptedClient({"hi": answer}), URI, KEY, [probe("hi", expect="(?i)xbox|fine")], THRESHOLDS)
    assert not report.passed
    (result,) = report.probes
    assert not result.passed
    assert any(reason in failure for failure in result.failures)
    assert "1 of 1 probes failed: hi" in report.failures


def test_low_quality_against_the_references_fails_even_when_every_probe_answers() -> None:
    client = ScriptedClient({"q1": ok("bananas are yellow"), "q2": ok("restart the console")})
    probes = [probe("q1", reference="restart the console"), probe("q2", reference="restart the console")]
    report = run_smoke_test(client, URI, KEY, probes, THRESHOLDS)
    assert all(p.passed for p in report.probes)
    assert report.aggregate_score == pytest.approx(0.5 * (0.0 + 1.0))
    assert report.passed  # 0.5 >= 0.5
    strict = THRESHOLDS.model_copy(update={"min_quality": 0.6})
    report = run_smoke_test(client, URI, KEY, probes, strict)
    assert not report.passed
    assert report.failures == ["mean token_f1 0.500 is below the quality threshold 0.600"]


def test_no_probes_is_a_failure_not_a_vacuous_pass() -> None:
    report = run_smoke_test(ScriptedClient({}), URI, KEY, [], THRESHOLDS)
    assert not report.passed
    assert "no probes" in report.failures[0]


def test_the_report_and_the_logs_never_carry_the_key(caplog: pytest.LogCaptureFixture) -> None:
    secret = KEY.get_secret_value()
    caplog.set_level(logging.DEBUG)
    client = ScriptedClient(
        {"hi": ok(f"echo {secret}"), "bad": ChatResponse(status_code=200, latency_ms=1, error=f"junk {secret}")}
    )
    report = run_smoke_test(client, URI + "?code=abc", KEY, [probe("hi"), probe("bad")], THRESHOLDS)
    dumped = report.model_dump_json()
    assert secret not in dumped
    assert secret not in repr(report)
    assert secret not in caplog.text
    assert "***" in report.probes[0].reply_excerpt
    assert report.endpoint == URI


def test_probes_are_the_prompts_then_a_reproducible_sample_of_held_out_examples() -> None:
    examples = [
        HeldOutExample(messages=[ChatMessage(role="user", content=f"q{i}")], reference=f"a{i}") for i in range(10)
    ]
    prompts = [SmokePrompt(prompt="Hello", system="You are an Xbox agent.", expect_regex="(?i)xbox")]
    first = build_probes(prompts, examples, sample_size=3, seed="ft-run-1")
    again = build_probes(prompts, examples, sample_size=3, seed="ft-run-1")
    assert first == again
    assert [p.source for p in first] == ["prompt", "validation", "validation", "validation"]
    assert [m.role for m in first[0].messages] == ["system", "user"]
    assert first[0].expect_regex == "(?i)xbox"
    assert all(p.reference == "a" + p.messages[-1].content[1:] for p in first[1:])
    assert len(build_probes([], examples, sample_size=50, seed="s")) == 10
    assert build_probes([], examples, sample_size=0, seed="s") == []


def test_held_out_example_splits_at_the_last_assistant_turn() -> None:
    messages = [
        ChatMessage(role="system", content="You are an Xbox agent."),
        ChatMessage(role="user", content="Wi-Fi?"),
        ChatMessage(role="assistant", content="Open network settings."),
    ]
    example = held_out_example(messages)
    assert example.reference == "Open network settings."
    assert [m.role for m in example.messages] == ["system", "user"]
    with pytest.raises(ValueError, match="needs an assistant message"):
        held_out_example(messages[:2])


def test_a_bad_expected_pattern_is_refused_where_it_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMOKE_PROMPTS", '["Hello", {"prompt": "Wi-Fi?", "expect_regex": "(network"}]')
    with pytest.raises(ValidationError, match=r"smoke_prompts\.1\.expect_regex"):
        Settings()
    monkeypatch.setenv("SMOKE_PROMPTS", '["Hello", {"prompt": "Wi-Fi?", "expect_regex": "(?i)network"}]')
    monkeypatch.setenv("SMOKE_MIN_QUALITY", "0.3")
    settings = Settings()
    assert [p.prompt for p in settings.smoke_prompts] == ["Hello", "Wi-Fi?"]
    assert smoke_thresholds_from_settings(settings).min_quality == 0.3


def test_held_out_examples_are_read_from_a_chat_jsonl_file() -> None:
    text = (
        '{"messages": [{"role": "system", "content": "Xbox agent"}, {"role": "user", "content": "Wi-Fi?"}, '
        '{"role": "assistant", "content": "Open network settings."}]}\n'
        "\n"
        '{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!", "weight": 1}]}\n'
    )
    examples = held_out_examples_from_jsonl(text)
    assert [e.reference for e in examples] == ["Open network settings.", "Hello!"]
    assert [m.role for m in examples[0].messages] == ["system", "user"]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("not json", "line 2: Invalid JSON"),
        ('{"messages": [{"role": "user", "content": "Hi"}]}', "line 2: a held-out example needs an assistant"),
        ('{"messages": [{"role": "robot", "content": "Hi"}]}', "line 2: Input should be"),
    ],
)
def test_a_bad_held_out_line_is_named(line: str, reason: str) -> None:
    good = '{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}'
    with pytest.raises(ValueError, match=reason):
        held_out_examples_from_jsonl(f"{good}\n{line}\n", source="validation.jsonl")
