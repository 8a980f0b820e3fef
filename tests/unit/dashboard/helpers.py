"""Fakes and sample data for the dashboard's unit tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from devhost.dashboard.runs_api import ApiAnswer
from shared.events import CloudEvent, EventType, build_event
from shared.foundry.port import LossPoint
from shared.models import FinalizeInput, RunOutcome, Stage, StageRecord
from shared.smoketest import ProbeResult, SmokeReport, SmokeThresholds
from shared.steps.report import RunSummary
from shared.validation.report import DatasetStats, Finding, ValidationReport

RUN_ID = "ft-xbox-support-0123456789ab"
T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def api_run(run_id: str = RUN_ID, **changes: Any) -> dict[str, Any]:
    """A run as `GET /api/runs/{runId}` shows it, ended after three stages."""
    view: dict[str, Any] = {
        "runId": run_id,
        "runtimeStatus": "Completed",
        "stage": "succeeded",
        "state": "succeeded",
        "detail": "done",
        "family": "xbox",
        "createdTime": T0.isoformat(),
        "lastUpdatedTime": (T0 + timedelta(seconds=30)).isoformat(),
        "stages": [
            StageRecord(
                stage=Stage.VALIDATING, state="succeeded", started_at=T0, ended_at=T0 + timedelta(seconds=2)
            ).model_dump(mode="json"),
            StageRecord(
                stage=Stage.TRAINING,
                state="succeeded",
                started_at=T0 + timedelta(seconds=2),
                ended_at=T0 + timedelta(seconds=22),
            ).model_dump(mode="json"),
            StageRecord(stage=Stage.DEPLOYING, state="running", started_at=T0 + timedelta(seconds=22)).model_dump(
                mode="json"
            ),
        ],
        "jobName": "job-1",
        "deploymentName": None,
        "output": {"outcome": "succeeded", "reason": "promoted"},
        "reports": {"report.html": "http://127.0.0.1:10000/devstoreaccount1/finetune-reports/x"},
    }
    view.update(changes)
    return view


class FakeRunsApi:
    """A `RunsApi` answering from a dict of run views; records the filters and the commands it was sent."""

    def __init__(self, runs: dict[str, dict[str, Any]] | None = None, *, unreachable: bool = False) -> None:
        self.runs = runs if runs is not None else {RUN_ID: api_run()}
        self.unreachable = unreachable
        self.filters: list[dict[str, str]] = []
        self.commands: list[tuple[str, str, str | None]] = []

    def list_runs(self, filters: dict[str, str]) -> ApiAnswer:
        self.filters.append(filters)
        if self.unreachable:
            return ApiAnswer(status_code=502, unreachable=True)
        if "since" in filters and filters["since"] == "bad":
            return ApiAnswer(status_code=400, payload={"error": "since/until must be ISO 8601 times"})
        runs = [run for run in self.runs.values() if not filters.get("family") or run["family"] == filters["family"]]
        return ApiAnswer(status_code=200, payload={"runs": runs, "count": len(runs)})

    def get_run(self, run_id: str) -> ApiAnswer:
        if self.unreachable:
            return ApiAnswer(status_code=502, unreachable=True)
        if run_id not in self.runs:
            return ApiAnswer(status_code=404, payload={"error": f"no run with id {run_id!r}"})
        return ApiAnswer(status_code=200, payload=self.runs[run_id])

    def send_command(self, run_id: str, command: str, reason: str | None) -> ApiAnswer:
        if self.unreachable:
            return ApiAnswer(status_code=502, unreachable=True)
        if run_id not in self.runs:
            return ApiAnswer(status_code=404, payload={"error": f"no run with id {run_id!r}"})
        if command == "approve" and self.runs[run_id].get("stage") != "awaiting_approval":
            return ApiAnswer(status_code=409, payload={"error": f"run {run_id} is not awaiting approval"})
        self.commands.append((run_id, command, reason))
        return ApiAnswer(
            status_code=202, payload={"runId": run_id, "command": command, "result": f"{command} sent to {run_id}"}
        )


def event(event_type: EventType, sequence: int, run_id: str = RUN_ID, **facts: Any) -> CloudEvent:
    """An event of the run, `sequence` seconds after T0."""
    return build_event(
        run_id, event_type, sequence, state=event_type.outcome, time=T0 + timedelta(seconds=sequence), data=facts
    )


def summary_json(run_id: str = RUN_ID) -> bytes:
    """A `summary.json` with a four-point loss curve."""
    summary = RunSummary(
        run=FinalizeInput(run_id=run_id, family="xbox", outcome=RunOutcome.SUCCEEDED, reason="promoted", stages=[]),
        loss_curve=[
            LossPoint(step=step, epoch=step / 2, train_loss=3 / (step + 1), validation_loss=3.2 / (step + 1))
            for step in range(4)
        ],
    )
    return summary.model_dump_json().encode()


def validation_json() -> bytes:
    """A `validation-report.json` with one error and one warning."""
    report = ValidationReport(
        valid=False,
        base_model="phi-3",
        context_length=4096,
        errors=[Finding(code="E_ROLE", line=3, message="<script>alert(1)</script> is not a role")],
        warnings=[Finding(code="W_DUP", line=7, message="duplicate example")],
        error_counts={"E_ROLE": 4},
        warning_counts={"W_DUP": 1},
        stats=DatasetStats(examples=40, valid_examples=36, billable_tokens=1234),
    )
    return report.model_dump_json().encode()


def smoke_json() -> bytes:
    """A passing `smoke-report.json` with two probes."""
    report = SmokeReport(
        passed=True,
        endpoint="http://127.0.0.1:9/v1",
        metric="rouge_l",
        aggregate_score=0.82,
        thresholds=SmokeThresholds(),
        probes=[
            ProbeResult(name="greeting", source="prompt", passed=True, latency_ms=12.5, reply_excerpt="Hello"),
            ProbeResult(name="held-out-1", source="validation", passed=True, score=0.82, reply_excerpt="Restart"),
        ],
    )
    return report.model_dump_json().encode()
