"""The ops workbook: valid JSON the portal accepts, deployed by workbook.bicep, and querying every metric
the service emits for the five ops views (runs by state, stage durations, failures by reason, training
time, events published)."""

from __future__ import annotations

import json
from typing import Any

from tests.unit.infra.bicep import INFRA_DIR, function_call, one

WORKBOOK = INFRA_DIR / "workbooks" / "finetune-ops.workbook.json"
METRICS = {
    "finetune.runs.started",
    "finetune.runs.finished",
    "finetune.stage.duration",
    "finetune.validation.errors",
    "finetune.training.tokens",
    "finetune.events.published",
    "finetune.smoketest.latency",
}


def _queries() -> dict[str, str]:
    workbook: dict[str, Any] = json.loads(WORKBOOK.read_text())
    assert workbook["version"] == "Notebook/1.0"
    return {item["name"]: item["content"]["query"] for item in workbook["items"] if item["type"] == 3}


def test_the_workbook_is_deployed_from_its_json_file_against_application_insights() -> None:
    workbook = one("Microsoft.Insights/workbooks")
    call = function_call(workbook.properties["serializedData"])
    assert call is not None
    name, arguments = call
    assert name == "load_text_content"
    assert (workbook.file.parent / arguments["file_path"]).resolve() == WORKBOOK.resolve()
    assert workbook.properties["sourceId"] == "applicationInsightsId"
    assert function_call(workbook.config["name"])[0] == "guid"  # type: ignore[index]


def test_the_workbook_has_the_five_ops_views() -> None:
    queries = _queries()
    assert {
        "runs-by-state",
        "stage-durations",
        "failures-by-stage",
        "validation-errors-by-code",
        "training-time",
        "events-published",
    } <= set(queries)
    assert '"training"' in queries["training-time"]
    assert '"failed"' in queries["failures-by-stage"]


def test_every_metric_the_service_emits_is_shown_and_only_those() -> None:
    text = "\n".join(_queries().values())
    queried = {token for token in text.replace('"', " ").split() if token.startswith("finetune.") and "." in token[9:]}
    queried = {name.rstrip(",)") for name in queried}
    assert queried >= METRICS
    assert queried <= METRICS | {
        "finetune.outcome",
        "finetune.stage",
        "finetune.validation.code",
        "finetune.base_model",
        "finetune.event_type",
    }


def test_recent_runs_come_from_the_run_id_and_stage_span_attributes() -> None:
    query = _queries()["recent-runs"]
    assert 'customDimensions["run.id"]' in query
    assert 'customDimensions["run.stage"]' in query
