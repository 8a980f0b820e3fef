"""Property-based: whatever bytes or JSON arrive, validation returns a report and never raises."""

from __future__ import annotations

import json
from typing import Any
from unittest.mock import patch

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.validation import ErrorCode, ValidationConfig, ValidationReport, WarningCode, validate_chunks

CONFIG = ValidationConfig(base_model="Phi-3-mini-4k-instruct", context_length=4096, min_examples=1)
CODES = {c.value for c in ErrorCode} | {c.value for c in WarningCode}
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)
roles = st.sampled_from(["system", "user", "assistant", "tool", "", "ASSISTANT"]) | json_values
messages = st.dictionaries(
    st.sampled_from(["role", "content", "weight", "name", "extra"]),
    roles | st.text(max_size=40) | st.integers(min_value=-2, max_value=2) | st.none(),
    max_size=5,
)
good_messages = st.fixed_dictionaries(
    {"role": st.sampled_from(["system", "user", "assistant"]), "content": st.text(min_size=1, max_size=40)},
    optional={"weight": st.sampled_from([0, 1, 2, None, True]), "name": st.text(max_size=5)},
)
examples = st.one_of(
    json_values,
    st.fixed_dictionaries({"messages": st.lists(messages, max_size=5)}),
    st.fixed_dictionaries({"messages": st.lists(good_messages | messages, min_size=1, max_size=5)}),
    st.fixed_dictionaries({"messages": st.lists(good_messages, min_size=1, max_size=4)}),
    st.fixed_dictionaries({"messages": json_values}),
)


def check_shape(report: ValidationReport) -> None:
    assert report.valid == (not report.errors)
    for finding in report.errors + report.warnings:
        assert finding.code in CODES
        assert finding.line is None or finding.line >= 1
    ValidationReport.model_validate_json(report.model_dump_json())


@FUZZ
@given(st.binary(max_size=2000), st.integers(min_value=1, max_value=64))
def test_arbitrary_bytes_in_arbitrary_chunks_always_give_a_report(data: bytes, chunk: int) -> None:
    report = validate_chunks([data[i : i + chunk] for i in range(0, len(data), chunk)], CONFIG)
    check_shape(report)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(examples, min_size=1, max_size=6))
def test_arbitrary_json_lines_always_give_a_report(lines: list[Any]) -> None:
    data = b"\n".join(json.dumps(line).encode() for line in lines)
    report = validate_chunks([data], CONFIG)
    check_shape(report)
    assert report.stats.examples == len(lines)


@FUZZ
@given(st.lists(st.text(max_size=200), min_size=1, max_size=6))
def test_arbitrary_text_lines_always_give_a_report(lines: list[str]) -> None:
    check_shape(validate_chunks(["\n".join(lines).encode("utf-8", "surrogatepass")], CONFIG))


def _always_slow(line: bytes) -> object:
    raise msgspec.ValidationError("forced onto the detailed path")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(examples, min_size=1, max_size=6))
def test_the_fast_path_reports_exactly_what_the_detailed_checks_report(lines: list[Any]) -> None:
    data = b"\n".join(json.dumps(line).encode() for line in lines)
    fast = validate_chunks([data], CONFIG)
    with patch("shared.validation.validator.decode_example", _always_slow):
        slow = validate_chunks([data], CONFIG)
    assert fast == slow
