"""Human-readable renderings of a `ValidationReport`: Markdown and a self-contained HTML page."""

from __future__ import annotations

import html

from shared.validation.report import Distribution, Finding, ValidationReport


def _findings_rows(findings: list[Finding]) -> list[tuple[str, str, str]]:
    return [(f.code, "file" if f.line is None else str(f.line), f.message) for f in findings]


def _distribution_rows(report: ValidationReport) -> list[tuple[str, Distribution]]:
    stats = report.stats
    return [
        ("messages per example", stats.messages_per_example),
        ("tokens per example", stats.tokens_per_example),
        ("assistant tokens per example", stats.assistant_tokens_per_example),
    ]


def _summary_lines(report: ValidationReport) -> list[str]:
    stats, cost = report.stats, report.cost
    tokens = "exact" if report.token_count_exact else "estimated"
    return [
        f"Base model: {report.base_model} (context {report.context_length:,} tokens)",
        f"Examples: {stats.examples:,} ({stats.valid_examples:,} valid), {stats.bytes_read:,} bytes",
        f"Tokens ({tokens}): {stats.total_tokens:,}; billable: {stats.billable_tokens:,} ({stats.epochs} epochs)",
        f"Cost {cost.label}: training {cost.training:,.2f} {cost.currency} "
        f"at {cost.price_training_per_1k_tokens:g} per 1K tokens; hosting {cost.hosting_per_day:,.2f} "
        f"{cost.currency} per day at {cost.price_hosting_per_hour:g} per hour",
        f"Token counter: {report.tokenizer}",
    ]


def _suppressed_line(counts: dict[str, int]) -> str | None:
    if not counts:
        return None
    return "Not listed (over the per-code cap): " + ", ".join(f"{code} x{n:,}" for code, n in sorted(counts.items()))


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def render_markdown(report: ValidationReport) -> str:
    """The report as Markdown: verdict, summary, findings tables, statistics."""
    verdict = "valid" if report.valid else "invalid"
    out = [f"# Validation report: {verdict}", ""]
    out += [f"- {_md_cell(line)}" for line in _summary_lines(report)]
    if report.stopped_early:
        out.append("- Reading stopped early; later lines were not checked.")
    for title, findings, counts, suppressed in (
        ("Errors", report.errors, report.error_counts, report.suppressed_errors),
        ("Warnings", report.warnings, report.warning_counts, report.suppressed_warnings),
    ):
        out += ["", f"## {title} ({sum(counts.values()):,})", ""]
        if not findings:
            out.append("None.")
            continue
        out += ["| code | line | message |", "|---|---|---|"]
        out += [f"| {code} | {line} | {_md_cell(message)} |" for code, line, message in _findings_rows(findings)]
        note = _suppressed_line(suppressed)
        if note:
            out += ["", note]
    out += ["", "## Statistics", "", "| | min | max | mean | p50 | p90 | p95 |", "|---|---|---|---|---|---|---|"]
    for name, d in _distribution_rows(report):
        out.append(f"| {name} | {d.min} | {d.max} | {d.mean} | {d.p50} | {d.p90} | {d.p95} |")
    return "\n".join(out) + "\n"


def render_html(report: ValidationReport) -> str:
    """The report as one self-contained HTML page (every value escaped)."""
    esc = html.escape
    verdict = "valid" if report.valid else "invalid"
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>Validation report: {verdict}</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:72em}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
        ".valid{color:#080}.invalid{color:#b00}</style></head><body>",
        f'<h1>Validation report: <span class="{verdict}">{verdict}</span></h1><ul>',
    ]
    parts += [f"<li>{esc(line)}</li>" for line in _summary_lines(report)]
    if report.stopped_early:
        parts.append("<li>Reading stopped early; later lines were not checked.</li>")
    parts.append("</ul>")
    for title, findings, counts, suppressed in (
        ("Errors", report.errors, report.error_counts, report.suppressed_errors),
        ("Warnings", report.warnings, report.warning_counts, report.suppressed_warnings),
    ):
        parts.append(f"<h2>{title} ({sum(counts.values()):,})</h2>")
        if not findings:
            parts.append("<p>None.</p>")
            continue
        parts.append("<table><tr><th>code</th><th>line</th><th>message</th></tr>")
        parts += [
            f"<tr><td>{esc(code)}</td><td>{esc(line)}</td><td>{esc(message)}</td></tr>"
            for code, line, message in _findings_rows(findings)
        ]
        parts.append("</table>")
        note = _suppressed_line(suppressed)
        if note:
            parts.append(f"<p>{esc(note)}</p>")
    parts.append("<h2>Statistics</h2><table><tr><th></th><th>min</th><th>max</th><th>mean</th>")
    parts.append("<th>p50</th><th>p90</th><th>p95</th></tr>")
    for name, d in _distribution_rows(report):
        cells = "".join(f"<td>{value}</td>" for value in (d.min, d.max, d.mean, d.p50, d.p90, d.p95))
        parts.append(f"<tr><th>{esc(name)}</th>{cells}</tr>")
    parts.append("</table></body></html>")
    return "\n".join(parts) + "\n"
