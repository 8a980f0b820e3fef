"""Seeded split and normalised output of the prepared training and validation sets."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from shared.errors import InvalidOptionsError
from shared.validation import PreparedDatasets, ValidationConfig, prepare_datasets, validate_chunks

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "xbox-support.jsonl"


def sample_lines() -> list[bytes]:
    return SAMPLE.read_bytes().splitlines()


def first_examples(count: int) -> bytes:
    """The sample's first `count` examples: a small file."""
    return b"\n".join(sample_lines()[:count]) + b"\n"


def split(data: bytes, seed: str = "ft-xbox-0123456789ab", share: float = 0.2) -> tuple[PreparedDatasets, bytes, bytes]:
    train, validation = io.BytesIO(), io.BytesIO()
    result = prepare_datasets([data], None, share, seed, train, validation)
    return result, train.getvalue(), validation.getvalue()


def test_split_is_seeded_stable_and_keeps_every_example_whole_exactly_once() -> None:
    data = SAMPLE.read_bytes()
    result, train, validation = split(data)
    again = split(data)
    assert (result, train, validation) == again
    assert result.ok
    assert result.validation_source == "split"
    assert result.validation_examples == round(len(sample_lines()) * 0.2)
    assert result.train_examples + result.validation_examples == len(sample_lines())
    originals = sorted(json.dumps(json.loads(line), sort_keys=True) for line in sample_lines())
    written = sorted(json.dumps(json.loads(line), sort_keys=True) for line in (train + validation).splitlines())
    assert written == originals
    other = split(data, seed="ft-xbox-ffffffffffff")
    assert other[2] != validation


def test_multi_turn_examples_stay_whole() -> None:
    _, train, validation = split(SAMPLE.read_bytes())
    turns = sorted(len(json.loads(line)["messages"]) for line in (train + validation).splitlines())
    assert turns.count(5) == 3


def test_output_is_utf8_without_bom_lf_and_compact_json() -> None:
    lines = [
        json.dumps(json.loads(line), indent=None, separators=(", ", ": "), ensure_ascii=True).encode()
        for line in sample_lines()
    ]
    lines[0] = json.dumps(
        {"messages": [{"role": "user", "content": "Café ☕?"}, {"role": "assistant", "content": "Oui."}]}
    ).encode()
    data = b"\xef\xbb\xbf" + b"\r\n".join(lines) + b"\r\n\r\n"
    result, train, validation = split(data)
    for output in (train, validation):
        assert not output.startswith(b"\xef\xbb\xbf")
        assert b"\r" not in output
        assert output.endswith(b"\n")
        for line in output.splitlines():
            assert b'", "' not in line
            assert line == json.dumps(json.loads(line), separators=(",", ":"), ensure_ascii=False).encode()
    assert "Café ☕?".encode() in train + validation
    assert result.train_examples + result.validation_examples == len(lines)


def test_too_few_examples_to_split_is_a_refusal_and_writes_nothing() -> None:
    result, train, validation = split(b"\n".join(sample_lines()[:12]))
    assert not result.ok
    assert result.refusal is not None
    assert "12 example(s)" in result.refusal
    assert "validation file" in result.refusal
    assert (train, validation) == (b"", b"")


def test_a_given_validation_file_is_used_as_is_and_feeds_the_held_out_examples() -> None:
    lines = sample_lines()
    train, validation = io.BytesIO(), io.BytesIO()
    result = prepare_datasets(
        [b"\n".join(lines[:30])], [b"\n".join(lines[30:])], 0.2, "seed", train, validation, held_out_examples=3
    )
    assert result.ok
    assert result.validation_source == "file"
    assert (result.train_examples, result.validation_examples) == (30, len(lines) - 30)
    assert len(result.held_out) == 3
    assert result.held_out[0][1].content == json.loads(lines[30])["messages"][1]["content"]


def test_a_split_share_outside_0_and_1_is_an_invalid_option() -> None:
    with pytest.raises(InvalidOptionsError, match="between 0 and 1"):
        prepare_datasets([SAMPLE.read_bytes()], None, 1.5, "seed", io.BytesIO(), io.BytesIO())


def test_a_split_that_would_leave_too_few_to_train_on_is_refused() -> None:
    result, train, validation = split(first_examples(40), share=0.9)
    assert not result.ok
    assert "keep 10 for training" in (result.refusal or "")
    assert (train, validation) == (b"", b"")


def test_prepared_sets_pass_validation_themselves() -> None:
    result, train, validation = split(first_examples(40))
    config = ValidationConfig(base_model="Phi-3-mini-4k-instruct", context_length=4096)
    assert validate_chunks([train], config).valid
    report = validate_chunks([validation], config.for_validation_file())
    assert report.valid
    assert report.stats.examples == result.validation_examples < config.min_examples
