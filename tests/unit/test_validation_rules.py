"""The validator's rules: warnings with their lines, caps, hostile input, statistics, secrets never echoed."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from shared.validation import ValidationConfig, ValidationReport, WarningCode, validate_chunks, validate_path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SYSTEM = {"role": "system", "content": "You are an Xbox support agent. Be brief."}


def config(**overrides: Any) -> ValidationConfig:
    return ValidationConfig(**{"base_model": "Phi-3-mini-4k-instruct", "context_length": 4096, **overrides})


def example(
    user: str = "My controller will not pair.", reply: str = "Hold the pair button for three seconds."
) -> dict[str, Any]:
    return {"messages": [SYSTEM, {"role": "user", "content": user}, {"role": "assistant", "content": reply}]}


def jsonl(*examples: dict[str, Any] | bytes) -> bytes:
    return b"".join((e if isinstance(e, bytes) else json.dumps(e).encode()) + b"\n" for e in examples)


def padded(bad: dict[str, Any] | bytes, at: int = 4, total: int = 12) -> bytes:
    """`total` distinct good examples with `bad` on line `at`."""
    lines: list[dict[str, Any] | bytes] = [
        example(user=f"Question number {i} about my console?") for i in range(total - 1)
    ]
    lines.insert(at - 1, bad)
    return jsonl(*lines)


def run(data: bytes, **overrides: Any) -> ValidationReport:
    return validate_chunks([data], config(**overrides))


def lines_of(report: ValidationReport, code: str) -> list[int | None]:
    return [f.line for f in report.warnings + report.errors if f.code == code]


def test_the_xbox_sample_set_is_valid_without_warnings() -> None:
    report = validate_path(EXAMPLES / "xbox-support.jsonl", config())
    assert report.valid, report.errors
    assert report.warnings == []
    assert report.stats.examples >= 30
    assert report.stats.messages_per_example.max == 5  # the multi-turn examples


@pytest.mark.parametrize(
    ("code", "bad"),
    [
        (
            WarningCode.MISSING_SYSTEM_MESSAGE,
            {
                "messages": [
                    {"role": "user", "content": "Hi there, help?"},
                    {"role": "assistant", "content": "Sure, what is the problem?"},
                ]
            },
        ),
        (
            WarningCode.DIFFERING_SYSTEM_MESSAGES,
            {
                "messages": [
                    {"role": "system", "content": "You are a pirate."},
                    {"role": "user", "content": "Hi?"},
                    {"role": "assistant", "content": "Arr, how can I help?"},
                ]
            },
        ),
        (WarningCode.PII_EMAIL, example(user="Reach me at jane.doe@example.com please")),
        (WarningCode.PII_PHONE, example(user="Call me on +1 (425) 555-0100 tomorrow")),
        (WarningCode.PII_CARD_NUMBER, example(user="My card is 4111 1111 1111 1111, charge it")),
        (WarningCode.SHORT_ASSISTANT_REPLY, example(reply="OK.")),
        (
            WarningCode.LAST_MESSAGE_NOT_ASSISTANT,
            {
                "messages": [
                    SYSTEM,
                    {"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": "Hello, how can I help?"},
                    {"role": "user", "content": "Thanks"},
                ]
            },
        ),
    ],
    ids=lambda v: v.value if isinstance(v, WarningCode) else "",
)
def test_each_warning_is_reported_on_its_line_and_leaves_the_file_valid(code: WarningCode, bad: dict[str, Any]) -> None:
    report = run(padded(bad, at=4))
    assert report.valid, report.errors
    assert lines_of(report, code.value) == [4]
    assert set(report.warning_counts) == {code.value}


def test_duplicate_examples_name_the_first_occurrence() -> None:
    report = run(padded(example(user="Question number 1 about my console?"), at=7))
    assert lines_of(report, "duplicate_example") == [7]
    assert "line 2" in report.warnings[0].message


def test_examples_near_the_token_limit_are_warned_about_and_over_it_rejected() -> None:
    data = padded(example(user=" ".join(["controller"] * 300)), at=2)
    tokens = run(data).stats.tokens_per_example.max
    report = run(data, context_length=tokens + 1)
    assert lines_of(report, "near_token_limit") == [2]
    assert report.valid
    report = run(data, context_length=tokens - 1)
    assert lines_of(report, "too_many_tokens") == [2]
    assert not report.valid


def test_a_secret_is_reported_by_kind_and_column_and_never_echoed() -> None:
    key = "QUtJQUlPU0ZPRE5ON0VYQU1QTEVzZWNyZXRrZXkxMjM0NQ=="
    data = padded(example(user=f"Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=a;SharedAccessKey={key}"))
    report = run(data)
    assert not report.valid
    assert lines_of(report, "secret_detected") == [4]
    assert key not in report.model_dump_json()
    assert key[:12] not in report.model_dump_json()


@pytest.mark.parametrize(
    "secret",
    [
        "-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEAAAAA\\n-----END OPENSSH PRIVATE KEY-----",
        "AKIAIOSFODNN7EXAMPLE",
        "AIzaSyA1234567890abcdefghijklmnopqrstuv",
        "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0;",
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9abcdefghijkl",
        "https://acct.blob.core.windows.net/c/f?sv=2022-11-02&sr=b&sig=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789%3D",
    ],
    ids=["private-key", "aws", "gcp", "storage", "bearer", "sas"],
)
def test_each_kind_of_secret_is_an_error(secret: str) -> None:
    report = run(padded(example(user=f"Here you go: {secret} thanks")))
    assert lines_of(report, "secret_detected") == [4]


def test_secrets_can_be_downgraded_to_warnings() -> None:
    report = run(padded(example(user="AKIAIOSFODNN7EXAMPLE")), secrets_are_errors=False)
    assert report.valid
    assert lines_of(report, "secret_detected") == [4]


def test_weight_zero_and_one_on_assistant_messages_are_accepted() -> None:
    weighted = {
        "messages": [
            SYSTEM,
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello there, how can I help?", "weight": 0},
            {"role": "user", "content": "Pairing?"},
            {"role": "assistant", "content": "Hold the pair button.", "weight": 1},
        ]
    }
    assert run(padded(weighted)).valid


def test_a_million_bad_lines_give_a_small_report() -> None:
    report = run(b"nope\n" * 200_000 + b"[1]\n" * 50_000, max_findings_per_code=20)
    assert report.error_counts == {"invalid_json": 200_000, "not_an_object": 50_000}
    assert len(report.errors) == 40
    assert report.suppressed_errors == {"invalid_json": 199_980, "not_an_object": 49_980}
    assert len(report.model_dump_json()) < 20_000


def test_hostile_inputs_give_errors_not_exceptions() -> None:
    deep = b'{"messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert lines_of(run(padded(deep, at=2)), "nesting_too_deep") == [2]
    huge = b'{"messages": [{"role": "user", "content": "' + b"a" * 20_000_000 + b'"}]}'
    report = run(padded(huge, at=2))
    assert lines_of(report, "line_too_long") == [2]
    assert run(gzip.compress(padded(example()))).error_counts == {"compressed_file": 1}
    assert run(bytes(range(256)) * 100).error_counts == {"binary_data": 1}
    assert run("\ufeff".encode("utf-16")).error_counts == {"not_utf8": 1}


def test_bom_crlf_and_blank_lines_are_accepted() -> None:
    data = b"\xef\xbb\xbf" + padded(example(user="Unique question?"), at=1).replace(b"\n", b"\r\n") + b"\r\n\r\n"
    report = run(data)
    assert report.valid, report.errors
    assert report.stats.examples == 12


def test_a_stream_over_the_file_limit_stops_reading_and_says_so() -> None:
    chunks = [padded(example())] * 50
    report = validate_chunks(chunks, config(max_file_bytes=len(chunks[0]) * 3))
    assert report.error_counts == {"file_too_large": 1}
    assert report.stopped_early


def test_statistics_and_cost_estimate() -> None:
    report = run(padded(example(), total=20), epochs=2, price_training_per_1k_tokens=2.0, price_hosting_per_hour=1.5)
    stats = report.stats
    assert stats.examples == stats.valid_examples == 20
    assert stats.tokens_per_example.count == 20
    assert stats.tokens_per_example.min <= stats.tokens_per_example.p50 <= stats.tokens_per_example.max
    assert 0 < stats.assistant_tokens_per_example.max < stats.tokens_per_example.min
    assert stats.billable_tokens == 2 * stats.total_tokens
    assert report.cost.training == pytest.approx(stats.billable_tokens / 1000 * 2.0)
    assert report.cost.hosting_per_day == pytest.approx(36.0)
    assert report.cost.label == "estimate"
    assert not report.token_count_exact
    assert not report.cost.token_count_exact


def test_results_do_not_depend_on_how_the_stream_is_chunked() -> None:
    data = padded(b"not json", at=3) + padded(example(reply="No."), at=5)
    whole = run(data)
    for size in (1, 2, 3, 7, 100, 4096):
        chunks = [data[i : i + size] for i in range(0, len(data), size)]
        assert validate_chunks(chunks, config()) == whole


def test_examples_with_errors_do_not_count_as_valid() -> None:
    data = padded(example(user="AKIAIOSFODNN7EXAMPLE is my key"), at=2) + jsonl(b"[]")
    stats = run(data).stats
    assert (stats.examples, stats.valid_examples) == (13, 11)
