"""The final report of a run: `summary.json` and `report.html`, a page a person opens."""

from __future__ import annotations

import html
from datetime import datetime

from pydantic import BaseModel, Field

from shared.bootstrap import Services
from shared.foundry.port import LossPoint
from shared.models import FinalizeInput, FinalizeResult, StageRecord
from shared.steps.naming import report_blob
from shared.telemetry import instruments

_PLOT_WIDTH, _PLOT_HEIGHT, _MARGIN = 640, 240, 36


class RunSummary(BaseModel):
    """`summary.json`: everything a run did, in one document."""

    run: FinalizeInput
    loss_curve: list[LossPoint] = Field(default_factory=list)
    stage_seconds: dict[str, float] = Field(default_factory=dict)


def write_run_report(services: Services, request: FinalizeInput) -> FinalizeResult:
    """Write the summary and the HTML report into the run's folder."""
    curve: list[LossPoint] = []
    if request.job_name:
        metrics = services.backend.get_job(request.job_name).metrics
        curve = metrics.curve if metrics else []
    summary = RunSummary(run=request, loss_curve=curve, stage_seconds=_stage_seconds(request.stages))
    store, container = services.store, services.settings.reports_container
    summary_name = report_blob(request.run_id, "summary.json")
    store.upload(container, summary_name, summary.model_dump_json(indent=2).encode(), content_type="application/json")
    page_name = report_blob(request.run_id, "report.html")
    store.upload(container, page_name, render_report(summary).encode(), content_type="text/html; charset=utf-8")
    meters = instruments()
    meters.run_finished(request.outcome.value, request.family)
    for stage in request.stages:
        if stage.ended_at is not None:
            meters.stage_finished(stage.stage.value, stage.state, _duration(stage.started_at, stage.ended_at))
    return FinalizeResult(summary_blob=summary_name, report_blob=page_name)


def _stage_seconds(stages: list[StageRecord]) -> dict[str, float]:
    return {s.stage.value: _duration(s.started_at, s.ended_at) for s in stages if s.ended_at is not None}


def _duration(start: datetime, end: datetime | None) -> float:
    return round((end - start).total_seconds(), 3) if end else 0.0


def render_report(summary: RunSummary) -> str:
    """The report page: outcome, stages with durations, loss curve, validation, smoke results, endpoint, cost."""
    run = summary.run
    esc = html.escape
    rows = "".join(
        f"<tr><td>{esc(s.stage.value)}</td><td>{esc(s.state)}</td><td>{s.started_at:%H:%M:%S}</td>"
        f"<td>{_duration(s.started_at, s.ended_at):.1f} s</td></tr>"
        for s in run.stages
    )
    sections = [
        f"<h1>Run {esc(run.run_id)}</h1>",
        f"<p class='outcome {esc(run.outcome.value)}'><b>{esc(run.outcome.value)}</b>: {esc(run.reason)}</p>",
        f"<p>Family <b>{esc(run.family)}</b>"
        + (f", training job <code>{esc(run.job_name)}</code>" if run.job_name else "")
        + "</p>",
        "<h2>Stages</h2><table><tr><th>stage</th><th>state</th><th>started</th><th>duration</th></tr>"
        + rows
        + "</table>",
    ]
    if run.validation:
        v = run.validation
        errors = "".join(f"<li>{esc(e)}</li>" for e in v.first_errors)
        estimate = "exact" if v.token_count_exact else "estimated"
        sections.append(
            f"<h2>Validation</h2><p>{'valid' if v.valid else 'invalid'}: {v.examples} examples, "
            f"{v.error_count} errors, {v.warning_count} warnings; {v.billable_tokens} billable tokens ({estimate}); "
            f"estimated training cost ${v.estimated_cost_usd:.4f} (an estimate, not a bill).</p>"
            + (f"<ul>{errors}</ul>" if errors else "")
            + "<p>Full report: <a href='validation-report.html'>validation-report.html</a> "
            "(<a href='validation-report.json'>JSON</a>)</p>"
        )
    if summary.loss_curve:
        sections.append("<h2>Loss</h2>" + loss_curve_svg(summary.loss_curve))
    if run.deployment:
        d = run.deployment
        sections.append(
            f"<h2>Deployment</h2><p>Endpoint <code>{esc(d.name)}</code> serving model "
            f"<code>{esc(d.model_name)}:{esc(d.model_version)}</code></p>"
        )
    if run.smoke:
        s = run.smoke
        failures = "".join(f"<li>{esc(f)}</li>" for f in s.failures)
        answer = f"<p>Sample answer: <q>{esc(s.sample_answer)}</q></p>" if s.sample_answer else ""
        sections.append(
            f"<h2>Smoke test</h2><p>{'passed' if s.passed else 'failed'}: {s.probes} probes, score {s.score:.3f}</p>"
            + (f"<ul>{failures}</ul>" if failures else "")
            + answer
            + "<p>Every probe: <a href='smoke-report.json'>smoke-report.json</a></p>"
        )
    if run.promotion:
        previous = run.promotion.previous_deployment or "none"
        sections.append(f"<h2>Promotion</h2><p>Alias updated; previous deployment: {esc(previous)}</p>")
    if run.cleanup:
        c = run.cleanup
        sections.append(
            f"<h2>Clean-up</h2><p>Deleted deployments: {esc(', '.join(c.deleted_deployments) or 'none')}; "
            f"archived models: {esc(', '.join(c.archived_models) or 'none')}</p>"
        )
    style = (
        "body{font-family:system-ui,sans-serif;max-width:760px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
        ".succeeded{color:#146c2e}.failed,.rejected{color:#b3261e}.canceled{color:#8a6d00}"
    )
    sections.append(
        "<p>Files of this run: <a href='summary.json'>summary.json</a>, <a href='train.jsonl'>train.jsonl</a>, "
        "<a href='validation.jsonl'>validation.jsonl</a>, <a href='probes.json'>probes.json</a></p>"
    )
    body = "\n".join(sections)
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Run {esc(run.run_id)}</title>"
        f"<style>{style}</style></head><body>{body}</body></html>"
    )


def loss_curve_svg(curve: list[LossPoint]) -> str:
    """Train and validation loss against step, as an inline SVG line chart."""
    points = [(p.step, p.train_loss, p.validation_loss) for p in curve]
    losses = [loss for _, train, val in points for loss in (train, val) if loss is not None]
    if not losses:
        return "<p>No loss values were reported.</p>"
    max_step = max(step for step, _, _ in points) or 1
    top, bottom = max(losses), min(0.0, *losses)
    span = (top - bottom) or 1.0

    def xy(step: int, loss: float) -> str:
        x = _MARGIN + (_PLOT_WIDTH - 2 * _MARGIN) * step / max_step
        y = _PLOT_HEIGHT - _MARGIN - (_PLOT_HEIGHT - 2 * _MARGIN) * (loss - bottom) / span
        return f"{x:.1f},{y:.1f}"

    def line(index: int, colour: str) -> str:
        coords = " ".join(xy(p[0], value) for p in points if (value := p[index]) is not None)
        return f"<polyline fill='none' stroke='{colour}' stroke-width='2' points='{coords}'/>" if coords else ""

    axes = (
        f"<line x1='{_MARGIN}' y1='{_PLOT_HEIGHT - _MARGIN}' x2='{_PLOT_WIDTH - _MARGIN}' "
        f"y2='{_PLOT_HEIGHT - _MARGIN}' stroke='#888'/>"
        f"<line x1='{_MARGIN}' y1='{_MARGIN}' x2='{_MARGIN}' y2='{_PLOT_HEIGHT - _MARGIN}' stroke='#888'/>"
        f"<text x='4' y='{_MARGIN}' font-size='11'>{top:.2f}</text>"
        f"<text x='4' y='{_PLOT_HEIGHT - _MARGIN}' font-size='11'>{bottom:.2f}</text>"
        f"<text x='{_PLOT_WIDTH - 4}' y='{_PLOT_HEIGHT - 8}' font-size='11' text-anchor='end'>step {max_step}</text>"
        f"<text x='{_MARGIN + 8}' y='16' font-size='12' fill='#1f77b4'>train</text>"
        f"<text x='{_MARGIN + 60}' y='16' font-size='12' fill='#d62728'>validation</text>"
    )
    return (
        f"<svg role='img' aria-label='loss curve' width='{_PLOT_WIDTH}' height='{_PLOT_HEIGHT}' "
        f"xmlns='http://www.w3.org/2000/svg'>{axes}{line(1, '#1f77b4')}{line(2, '#d62728')}</svg>"
    )
