"""Human-readable renderings of a report."""

from __future__ import annotations

from shared.validation import ValidationConfig, render_html, render_markdown, validate_chunks

CONFIG = ValidationConfig(base_model="Phi-3-mini-4k-instruct", context_length=4096, max_findings_per_code=2)
BAD = b'{"messages": [{"role": "<script>alert(1)</script>", "content": "a|b"}]}\n' * 5


def test_markdown_lists_verdict_findings_counts_over_the_cap_and_cost_estimate() -> None:
    text = render_markdown(validate_chunks([BAD], CONFIG))
    assert text.startswith("# Validation report: invalid")
    assert "| invalid_role | 1 |" in text
    assert "invalid_role x3" in text
    assert "Cost estimate" in text
    assert "tokens per example" in text


def test_html_escapes_everything_from_the_file() -> None:
    page = render_html(validate_chunks([BAD], CONFIG))
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert page.startswith("<!doctype html>")
