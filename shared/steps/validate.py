"""The validate step: stream the upload through the validator and write its reports."""

from __future__ import annotations

from shared.bootstrap import Services
from shared.models import ValidateInput, ValidateResult
from shared.steps.naming import report_blob
from shared.telemetry import instruments
from shared.validation import ValidationConfig, ValidationReport, validate_chunks
from shared.validation.render import render_html, render_markdown

MAX_ERRORS_IN_RESULT = 5


def validate_training_file(services: Services, request: ValidateInput) -> ValidateResult:
    """Validate the training file (and the named validation file); reports go to the run's folder."""
    options = request.options
    config = ValidationConfig.from_settings(services.settings, base_model=options.base_model, epochs=options.epochs)
    container = request.blob.container
    report = validate_chunks(services.store.download_chunks(container, request.blob.name), config)
    report_name = _write_reports(services, request.run_id, "validation-report", report)
    first_errors = _first_errors(report, "")
    valid, errors, warnings = report.valid, _count(report.error_counts), _count(report.warning_counts)
    if options.validation_blob:
        held_out = validate_chunks(
            services.store.download_chunks(container, options.validation_blob), config.for_validation_file()
        )
        _write_reports(services, request.run_id, "validation-file-report", held_out)
        valid = valid and held_out.valid
        errors += _count(held_out.error_counts)
        warnings += _count(held_out.warning_counts)
        first_errors += _first_errors(held_out, f"{options.validation_blob}: ")
    _record_metrics(report, options.base_model, valid)
    return ValidateResult(
        valid=valid,
        report_blob=report_name,
        error_count=errors,
        warning_count=warnings,
        first_errors=first_errors[:MAX_ERRORS_IN_RESULT],
        examples=report.stats.examples,
        billable_tokens=report.cost.billable_tokens,
        estimated_cost_usd=round(report.cost.training, 4),
        token_count_exact=report.token_count_exact,
    )


def _count(counts: dict[str, int]) -> int:
    return sum(counts.values())


def _first_errors(report: ValidationReport, prefix: str) -> list[str]:
    return [
        f"{prefix}line {finding.line}: {finding.code}: {finding.message}"
        if finding.line
        else f"{prefix}{finding.code}: {finding.message}"
        for finding in report.errors[:MAX_ERRORS_IN_RESULT]
    ]


def _write_reports(services: Services, run_id: str, stem: str, report: ValidationReport) -> str:
    store, container = services.store, services.settings.reports_container
    json_name = report_blob(run_id, f"{stem}.json")
    store.upload(container, json_name, report.model_dump_json(indent=2).encode(), content_type="application/json")
    markdown = render_markdown(report).encode()
    store.upload(container, report_blob(run_id, f"{stem}.md"), markdown, content_type="text/markdown")
    html = render_html(report).encode()
    store.upload(container, report_blob(run_id, f"{stem}.html"), html, content_type="text/html; charset=utf-8")
    return json_name


def _record_metrics(report: ValidationReport, base_model: str, valid: bool) -> None:
    meters = instruments()
    for code, count in report.error_counts.items():
        meters.validation_errors(code, count)
    if valid:
        meters.training_tokens(report.cost.billable_tokens, base_model)
