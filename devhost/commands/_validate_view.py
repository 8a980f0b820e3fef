"""The readable (rich) summary that `python -m devhost validate` prints without `--json`."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from shared.validation import ValidationReport
from shared.validation.report import Finding


def _findings_table(title: str, findings: list[Finding], suppressed: dict[str, int], style: str) -> Table:
    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("code", style=style, no_wrap=True)
    table.add_column("line", justify="right")
    table.add_column("message")
    for finding in findings:
        table.add_row(finding.code, "file" if finding.line is None else str(finding.line), finding.message)
    for code, count in sorted(suppressed.items()):
        table.add_row(code, "", f"... and {count:,} more not listed")
    return table


def print_report(report: ValidationReport, *, title: str) -> None:
    """Print verdict, findings and statistics of one report."""
    console = Console(highlight=False)
    verdict = "[bold green]VALID[/]" if report.valid else "[bold red]INVALID[/]"
    console.print(f"\n{verdict}  {title}")
    if report.errors:
        console.print(_findings_table("Errors", report.errors, report.suppressed_errors, "red"))
    if report.warnings:
        console.print(_findings_table("Warnings", report.warnings, report.suppressed_warnings, "yellow"))
    stats, cost = report.stats, report.cost
    table = Table(title="Statistics", title_justify="left")
    for column in ("", "min", "max", "mean", "p50", "p90", "p95"):
        table.add_column(column, justify="right" if column else "left")
    for name, dist in (
        ("messages per example", stats.messages_per_example),
        ("tokens per example", stats.tokens_per_example),
        ("assistant tokens per example", stats.assistant_tokens_per_example),
    ):
        table.add_row(name, *(str(v) for v in (dist.min, dist.max, dist.mean, dist.p50, dist.p90, dist.p95)))
    console.print(table)
    kind = "exact" if report.token_count_exact else "estimated"
    console.print(
        f"{stats.examples:,} examples ({stats.valid_examples:,} valid) for {report.base_model}; "
        f"{stats.total_tokens:,} tokens ({kind}), {stats.billable_tokens:,} billable over {stats.epochs} epochs"
    )
    console.print(
        f"Cost {cost.label}: training ~{cost.training:,.2f} {cost.currency}, "
        f"hosting ~{cost.hosting_per_day:,.2f} {cost.currency}/day  ({report.tokenizer})"
    )
