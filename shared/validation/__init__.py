"""Validate chat-format JSONL training files like a careful reviewer, and prepare them for training.

Public API (everything else in this package is private)::

    from shared.validation import (ValidationConfig, ValidationReport, Finding, validate_chunks,
                                   validate_path, render_markdown, render_html, prepare_datasets,
                                   PreparedDatasets, TokenCounter, default_token_counter)

    config = ValidationConfig.from_settings(settings, base_model="Phi-3-mini-4k-instruct", epochs=3)
    report = validate_chunks(chunks, config)          # chunks: Iterable[bytes], e.g. a blob download
    report = validate_path("examples/xbox-support.jsonl", config)
    report = validate_chunks(validation_chunks, config.for_validation_file())   # no 10-example minimum
    report.valid, report.errors, report.warnings      # Finding(code, line, message); line None = whole file
    report.error_counts, report.suppressed_errors     # per code: all found / found but not listed
    report.stats, report.cost, report.token_count_exact, report.tokenizer
    render_markdown(report), render_html(report)      # human-readable pages (HTML is self-contained)

    prepared = prepare_datasets(training_chunks, validation_chunks_or_None, 0.2, run_id, train_out, val_out)
    prepared.ok, prepared.refusal                     # too few examples to split: a result, nothing written
    prepared.train_examples, prepared.validation_examples, prepared.held_out   # first 5 held-out examples

Findings: codes are `ErrorCode` / `WarningCode` (stable strings); at most `max_findings_per_code` (20) per
code are listed, all are counted. Secrets and personal data are reported by kind and column, never echoed.
Any error makes the report invalid; warnings never do.

Validation streams: memory does not grow with the file beyond a 64-bit hash per example (duplicates),
three small integers per example (statistics) and a bounded word cache. Valid lines take a fast path
(msgspec decodes and checks the schema in C); any line off it is parsed again to report exactly what is
wrong, with the same verdict (a property test holds both paths equal).

Tokens: exact when `PHI3_TOKENIZER_PATH` names a Phi-3 tokenizer.json (`Phi3TokenizerCounter`), else an
offline estimate (`EstimatingTokenCounter`, see `tokens` for its measured error); the report says which.

`prepare_datasets` writes UTF-8 without BOM, LF, compact JSON per line; it splits by line (a multi-turn
conversation is one line, so it stays whole), seeded by the run id (same file and seed, same sets); it
refuses to split fewer than `min_examples_to_split` (20) examples. Raises `InvalidOptionsError` only for a
split share outside (0, 1).
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
