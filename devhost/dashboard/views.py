"""What the dashboard's pages read (`/data/...`): runs, and one run with its timeline, events and reports.

Each view is built from the HTTP API's answer, the run's events and its report blobs; whatever is not
there yet (a report written only at the end, no event source) is simply absent, never an error.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from devhost.dashboard.actions import available_commands
from shared.events import CloudEvent, EventType
from shared.smoketest import SmokeReport
from shared.steps.report import RunSummary
from shared.validation.report import ValidationReport

MAX_FINDINGS = 20
MAX_PROBES = 50
ENDED_RUNTIME_STATUSES = frozenset({"Completed", "Failed", "Terminated", "Canceled"})
RUN_FIELDS = (
    "runId",
    "runtimeStatus",
    "stage",
    "state",
    "detail",
    "family",
    "createdTime",
    "lastUpdatedTime",
    "jobName",
    "deploymentName",
)
_LOSS_EVENTS = {EventType.TRAINING_STATUS_CHANGED, EventType.TRAINING_SUCCEEDED, EventType.TRAINING_FAILED}


class View(BaseModel):
    """A JSON document for the pages (camelCase keys)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class StageView(View):
    """One stage of the timeline; `seconds` once it ended (the page counts a running stage itself)."""

    stage: str
    state: str
    started_at: datetime | None = None
    ended_at: datetime | None = None
    seconds: float | None = None
    detail: str = ""


class EventView(View):
    """One CloudEvent of the run."""

    id: str
    type: str
    time: datetime
    sequence: int
    stage: str
    state: str
    facts: dict[str, Any] = Field(default_factory=dict)


class LossPointView(View):
    """A point of the loss curve: `x` is the step (from the summary) or the status change (from events)."""

    x: float
    train: float | None = None
    validation: float | None = None


class LossView(View):
    """The loss curve and where it came from."""

    source: Literal["summary", "events"]
    x_label: str
    points: list[LossPointView]


class FindingView(View):
    """An error or warning of the validation report."""

    severity: Literal["error", "warning"]
    code: str
    line: int | None = None
    message: str


class ValidationView(View):
    """The validation summary."""

    source: Literal["report", "event"]
    valid: bool
    examples: int | None = None
    valid_examples: int | None = None
    errors: int = 0
    warnings: int = 0
    billable_tokens: int | None = None
    estimated_cost_usd: float | None = None
    token_count_exact: bool | None = None
    findings: list[FindingView] = Field(default_factory=list)


class ProbeView(View):
    """One smoke-test probe."""

    name: str
    source: str
    passed: bool
    latency_ms: float | None = None
    score: float | None = None
    reply: str = ""
    failures: list[str] = Field(default_factory=list)


class SmokeView(View):
    """The smoke test's verdict and probes."""

    source: Literal["report", "event"]
    passed: bool
    score: float | None = None
    metric: str | None = None
    probe_count: int = 0
    probes: list[ProbeView] = Field(default_factory=list)
    failures: list[str] = Field(default_factory=list)


class ReportLink(View):
    """A report of the run the dashboard serves (`href` on the dashboard itself)."""

    name: str
    href: str


class RunPage(View):
    """Everything the run page shows."""

    run: dict[str, Any]
    outcome: str | None = None
    reason: str | None = None
    ended: bool = False
    stages: list[StageView] = Field(default_factory=list)
    events: list[EventView] = Field(default_factory=list)
    events_available: bool = True
    loss: LossView | None = None
    validation: ValidationView | None = None
    smoke: SmokeView | None = None
    reports: list[ReportLink] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="What could not be read, in words.")
    commands: list[str] = Field(default_factory=list, description="The commands the run accepts now.")


class RunReports(BaseModel):
    """The run's report blobs as read (None: not written, or unreadable)."""

    summary: RunSummary | None = None
    validation: ValidationReport | None = None
    smoke: SmokeReport | None = None
    present: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


def run_row(view: dict[str, Any]) -> dict[str, Any]:
    """A run of `GET /api/runs` with only the fields the pages show."""
    return {key: view.get(key) for key in RUN_FIELDS if key in view}


def run_page(api_view: dict[str, Any], events: list[CloudEvent] | None, reports: RunReports) -> RunPage:
    """The run page's document."""
    output = api_view.get("output") if isinstance(api_view.get("output"), dict) else {}
    assert isinstance(output, dict)
    run_id = str(api_view.get("runId", ""))
    row = run_row(api_view)
    ended = api_view.get("runtimeStatus") in ENDED_RUNTIME_STATUSES
    return RunPage(
        run=row,
        outcome=_text(output.get("outcome")),
        reason=_text(output.get("reason")),
        ended=ended,
        stages=stage_views(api_view.get("stages")),
        events=[event_view(event) for event in events or []],
        events_available=events is not None,
        loss=loss_view(reports.summary, events or []),
        validation=validation_view(reports.validation, events or []),
        smoke=smoke_view(reports.smoke, events or []),
        reports=[ReportLink(name=name, href=f"/reports/{run_id}/{name}") for name in reports.present],
        notes=reports.notes,
        commands=available_commands(ended=ended, stage=_text(row.get("stage"))),
    )


def stage_views(stages: Any) -> list[StageView]:
    """The timeline from the API's `stages` (StageRecord JSON); malformed entries are skipped."""
    views = []
    for record in stages if isinstance(stages, list) else []:
        if not isinstance(record, dict):
            continue
        try:
            view = StageView(
                stage=str(record.get("stage", "")),
                state=str(record.get("state", "")),
                started_at=record.get("started_at"),
                ended_at=record.get("ended_at"),
                detail=str(record.get("detail") or ""),
            )
        except ValidationError:
            continue
        if view.started_at and view.ended_at:
            view = view.model_copy(update={"seconds": round((view.ended_at - view.started_at).total_seconds(), 3)})
        views.append(view)
    return views


def event_view(event: CloudEvent) -> EventView:
    """An event as the page lists it."""
    return EventView(
        id=event.id,
        type=event.type.value,
        time=event.time,
        sequence=event.data.sequence,
        stage=event.data.stage,
        state=event.data.state,
        facts=event.data.facts,
    )


def loss_view(summary: RunSummary | None, events: list[CloudEvent]) -> LossView | None:
    """The summary's loss curve once the run wrote it; before that, the losses its training events carried."""
    if summary is not None and summary.loss_curve:
        points = [
            LossPointView(x=point.step, train=point.train_loss, validation=point.validation_loss)
            for point in summary.loss_curve
        ]
        return LossView(source="summary", x_label="step", points=points)
    points = []
    for event in events:
        facts = event.data.facts
        train, validation = _number(facts.get("trainLoss")), _number(facts.get("validationLoss"))
        if event.type not in _LOSS_EVENTS or (train is None and validation is None):
            continue
        if points and (points[-1].train, points[-1].validation) == (train, validation):
            continue  # `training.succeeded` repeats the last status change's losses
        points.append(LossPointView(x=len(points) + 1, train=train, validation=validation))
    return LossView(source="events", x_label="status update", points=points) if points else None


def validation_view(report: ValidationReport | None, events: list[CloudEvent]) -> ValidationView | None:
    """The validation report's summary, else the facts of the run's validation event."""
    if report is not None:
        findings = [
            FindingView(severity=severity, code=finding.code, line=finding.line, message=finding.message)
            for severity, listed in (("error", report.errors), ("warning", report.warnings))
            for finding in listed
        ][:MAX_FINDINGS]
        return ValidationView(
            source="report",
            valid=report.valid,
            examples=report.stats.examples,
            valid_examples=report.stats.valid_examples,
            errors=sum(report.error_counts.values()),
            warnings=sum(report.warning_counts.values()),
            billable_tokens=report.stats.billable_tokens,
            estimated_cost_usd=report.cost.training,
            token_count_exact=report.token_count_exact,
            findings=findings,
        )
    event = _last_of(events, {EventType.VALIDATION_SUCCEEDED, EventType.VALIDATION_FAILED})
    if event is None:
        return None
    facts = event.data.facts
    first_errors = facts.get("firstErrors") if isinstance(facts.get("firstErrors"), list) else []
    assert isinstance(first_errors, list)
    return ValidationView(
        source="event",
        valid=event.type is EventType.VALIDATION_SUCCEEDED,
        examples=_integer(facts.get("examples")),
        errors=_integer(facts.get("errors")) or 0,
        warnings=_integer(facts.get("warnings")) or 0,
        billable_tokens=_integer(facts.get("billableTokens")),
        estimated_cost_usd=_number(facts.get("estimatedCostUsd")),
        token_count_exact=facts.get("tokenCountExact") if isinstance(facts.get("tokenCountExact"), bool) else None,
        findings=[FindingView(severity="error", code="", message=str(text)) for text in first_errors[:MAX_FINDINGS]],
    )


def smoke_view(report: SmokeReport | None, events: list[CloudEvent]) -> SmokeView | None:
    """The smoke report's verdict and probes, else the facts of the run's smoke-test event."""
    if report is not None:
        probes = [
            ProbeView(
                name=probe.name,
                source=probe.source,
                passed=probe.passed,
                latency_ms=probe.latency_ms,
                score=probe.score,
                reply=probe.reply_excerpt,
                failures=probe.failures,
            )
            for probe in report.probes[:MAX_PROBES]
        ]
        return SmokeView(
            source="report",
            passed=report.passed,
            score=report.aggregate_score,
            metric=report.metric,
            probe_count=len(report.probes),
            probes=probes,
            failures=report.failures,
        )
    event = _last_of(events, {EventType.SMOKETEST_PASSED, EventType.SMOKETEST_FAILED})
    if event is None:
        return None
    facts = event.data.facts
    failures = facts.get("failures") if isinstance(facts.get("failures"), list) else []
    assert isinstance(failures, list)
    return SmokeView(
        source="event",
        passed=event.type is EventType.SMOKETEST_PASSED,
        score=_number(facts.get("score")),
        probe_count=_integer(facts.get("probes")) or 0,
        failures=[str(failure) for failure in failures],
    )


def _last_of(events: list[CloudEvent], types: set[EventType]) -> CloudEvent | None:
    return next((event for event in reversed(events) if event.type in types), None)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
