"""The ops workbook: valid JSON the portal accepts, deployed by workbook.bicep, and querying every metric
the service emits for the five ops views (runs by state, stage durations, failures by reason, training
time, events published)."""

from __future__ import annotations

import ast
import json
from typing import Any

from antlr4 import CommonTokenStream, InputStream
from antlr4.error.ErrorListener import ErrorListener
from kusto_query_language_parser.parse_tools.KqlLexer import KqlLexer
from kusto_query_language_parser.parse_tools.KqlParser import KqlParser

from tests.unit.infra.bicep import INFRA_DIR, REPO_ROOT, function_call, one

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


def _emitted() -> tuple[set[str], set[str]]:
    """Metric names (create_counter/create_histogram) and `finetune.*` attribute keys of shared/telemetry.py."""
    tree = ast.parse((REPO_ROOT / "shared" / "telemetry.py").read_text())
    metrics: set[str] = set()
    attributes: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr.startswith("create_"):
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                metrics.add(first.value)
        if isinstance(node, ast.Dict):
            for key in node.keys:
                if isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value.startswith("finetune."):
                    attributes.add(key.value)
    return metrics, attributes


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


def test_the_service_emits_every_metric_the_workbook_needs() -> None:
    metrics, _ = _emitted()
    assert metrics >= METRICS


def test_every_metric_and_attribute_the_workbook_queries_is_emitted_and_every_metric_is_shown() -> None:
    metrics, attributes = _emitted()
    text = "\n".join(_queries().values())
    queried = {token.rstrip(",)") for token in text.replace('"', " ").split() if token.startswith("finetune.")}
    assert metrics <= queried, f"metrics not shown by the workbook: {sorted(metrics - queried)}"
    assert queried <= metrics | attributes, (
        f"the workbook queries what the service never emits: {sorted(queried - metrics - attributes)}"
    )


class _Errors(ErrorListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.errors: list[str] = []

    def syntaxError(  # noqa: N802, PLR0917 -- ANTLR calls it by this name with these positional arguments
        self, recognizer: object, symbol: object, line: int, column: int, message: str, error: object
    ) -> None:
        self.errors.append(f"{line}:{column} {message[:200]}")


def _kql_syntax_errors(query: str) -> list[str]:
    listener = _Errors()
    lexer = KqlLexer(InputStream(query))
    lexer.removeErrorListeners()
    lexer.addErrorListener(listener)
    parser = KqlParser(CommonTokenStream(lexer))
    parser.removeErrorListeners()
    parser.addErrorListener(listener)
    parser.top()
    return listener.errors


def test_every_query_is_valid_kql() -> None:
    for name, query in _queries().items():
        concrete = query.replace("{TimeRange:grain}", "1h")
        assert _kql_syntax_errors(concrete) == [], f"workbook item {name}: {query}"


def test_the_kql_check_catches_a_broken_query() -> None:
    assert _kql_syntax_errors("customMetrics | where name == | summarize count() by")


def test_recent_runs_come_from_the_run_id_and_stage_span_attributes() -> None:
    query = _queries()["recent-runs"]
    assert 'customDimensions["run.id"]' in query
    assert 'customDimensions["run.stage"]' in query
