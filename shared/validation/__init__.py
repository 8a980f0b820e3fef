"""Validate chat-format JSONL training files like a careful reviewer, and prepare them for training.

Public API (everything else in this package is private)::

    from shared.validation import (ValidationConfig, ValidationReport, Finding, validate_chunks,
                                   validate_path, render_markdown, render_html, prepare_datasets,
                                   PreparedDatasets, TokenCounter, default_token_counter)

    config = ValidationConfig.from_settings(settings, base_model="Phi-3-mini-4k-instruct", epochs=3)
    report = validate_chunks(chunks, config)          # chunks: Iterable[bytes], e.g. a blob download
    report = validate_path("examples/xbox-support.jsonl", config)
    report.valid, report.errors, report.warnings      # Finding(code, line, message); line None = whole file
    report.error_counts, report.suppressed_errors     # per code: all found / found but not listed
    report.stats, report.cost, report.token_count_exact
    render_markdown(report), render_html(report)      # human-readable pages

    prepared = prepare_datasets(training_chunks, validation_chunks_or_None, split=0.2, seed=run_id,
                                train_out=f1, validation_out=f2)
    prepared.ok, prepared.refusal                     # a too-small file to split is a result, not an exception

Validation streams: memory does not grow with the file (only a 64-bit hash per example, for duplicates,
and three small integers per example, for the statistics). Error and warning codes are `ErrorCode` and
`WarningCode`; findings of one code past `ValidationConfig.max_findings_per_code` are counted, not listed.
Secrets and personal data are reported by kind and column, never echoed. Token counts are exact when
`PHI3_TOKENIZER_PATH` names a Phi-3 tokenizer.json, else an offline estimate (see `tokens`), and the
report says which.
"""

from __future__ import annotations

from shared.validation.codes import ErrorCode, WarningCode
from shared.validation.config import ValidationConfig
from shared.validation.prepare import ChatMessage, PreparedDatasets, prepare_datasets
from shared.validation.render import render_html, render_markdown
from shared.validation.report import CostEstimate, DatasetStats, Distribution, Finding, ValidationReport
from shared.validation.tokens import (
    EstimatingTokenCounter,
    Phi3TokenizerCounter,
    TokenCounter,
    default_token_counter,
)
from shared.validation.validator import validate_chunks, validate_path

__all__ = [
    "ChatMessage",
    "CostEstimate",
    "DatasetStats",
    "Distribution",
    "ErrorCode",
    "EstimatingTokenCounter",
    "Finding",
    "Phi3TokenizerCounter",
    "PreparedDatasets",
    "TokenCounter",
    "ValidationConfig",
    "ValidationReport",
    "WarningCode",
    "default_token_counter",
    "prepare_datasets",
    "render_html",
    "render_markdown",
    "validate_chunks",
    "validate_path",
]
