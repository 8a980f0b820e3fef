"""The dashboard's routes over fakes of its three sources (HTTP API, report blobs, events)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from pydantic import SecretStr

from devhost.dashboard.app import REPORT_CSP, DashboardApp, Reply
from devhost.dashboard.events import EventLog
from devhost.dashboard.reports import REPORT_CONTENT_TYPES, ReportReader
from shared.events import EventType
from shared.names import REPORTS_CONTAINER, run_reports_prefix
from tests.fakes.storage import InMemoryBlobStore
from tests.unit.dashboard.helpers import (
    RUN_ID,
    FakeRunsApi,
    api_run,
    event,
    smoke_json,
    summary_json,
    validation_json,
)
from triggers.http_api import REPORT_FILES

STORAGE_SECRET = SecretStr(
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=c2VjcmV0LWtleS1mb3ItdGVzdHM=;"
)


@pytest.fixture
def store() -> InMemoryBlobStore:
    store = InMemoryBlobStore()
    store.ensure_container(REPORTS_CONTAINER)
    return store


@pytest.fixture
def api() -> FakeRunsApi:
    return FakeRunsApi()


@pytest.fixture
def events() -> EventLog:
    return EventLog()


@pytest.fixture
def app(api: FakeRunsApi, store: InMemoryBlobStore, events: EventLog) -> DashboardApp:
    return DashboardApp(api, ReportReader(store, REPORTS_CONTAINER), events, secrets=(STORAGE_SECRET,))


def get(app: DashboardApp, target: str, host: str = "127.0.0.1:7080") -> Reply:
    return app.handle("GET", target, host)


def body(reply: Reply) -> Any:
    return orjson.loads(reply.body)


def write_report(store: InMemoryBlobStore, name: str, data: bytes, run_id: str = RUN_ID) -> None:
    store.upload(REPORTS_CONTAINER, run_reports_prefix(run_id) + name, data)


def test_pages_and_their_scripts_are_served(app: DashboardApp) -> None:
    runs_page = get(app, "/")
    assert runs_page.status == 200
    assert runs_page.content_type.startswith("text/html")
    assert b"/static/runs.js" in runs_page.body
    run_page = get(app, f"/runs/{RUN_ID}")
    assert b"/static/run.js" in run_page.body
    script = get(app, "/static/run.js")
    assert (script.status, script.content_type) == (200, "text/javascript")
    assert get(app, "/static/dashboard.css").content_type == "text/css"


@pytest.mark.parametrize(
    "target",
    [
        "/static/../app.py",
        "/static/%2e%2e/app.py",
        "/static/runs.html.bak",
        "/static/connections.json",
        "/nothing",
        "/runs/not-a-run",
        "/runs/..%2f..%2fetc",
    ],
)
def test_anything_but_the_shipped_files_is_not_found(app: DashboardApp, target: str) -> None:
    reply = get(app, target)
    assert reply.status == 404
    assert "error" in body(reply)


def test_only_run_commands_change_anything(app: DashboardApp) -> None:
    reply = app.handle("POST", f"/data/runs/{RUN_ID}", "127.0.0.1:7080", origin="http://127.0.0.1:7080")
    assert reply.status == 405
    assert ("Allow", "GET, HEAD") in reply.headers
    assert app.handle("DELETE", f"/data/runs/{RUN_ID}", "127.0.0.1:7080").status == 405


def post_command(
    app: DashboardApp,
    command: str,
    payload: bytes = b"{}",
    *,
    run_id: str = RUN_ID,
    origin: str | None = "http://127.0.0.1:7080",
    content_type: str = "application/json",
) -> Reply:
    return app.handle(
        "POST",
        f"/data/runs/{run_id}/{command}",
        "127.0.0.1:7080",
        origin=origin,
        content_type=content_type,
        body=payload,
    )


def test_a_command_from_the_dashboard_page_goes_to_the_api_with_its_reason(app: DashboardApp, api: FakeRunsApi) -> None:
    api.runs[RUN_ID] = api_run(runtimeStatus="Running", stage="awaiting_approval", state="waiting")

    approved = post_command(app, "approve", b'{"reason": "looks good"}')
    canceled = post_command(app, "cancel")

    assert approved.status == 202
    assert body(approved)["result"] == f"approve sent to {RUN_ID}"
    assert canceled.status == 202
    assert api.commands == [(RUN_ID, "approve", "looks good"), (RUN_ID, "cancel", None)]


RefusedCommand = tuple[str | None, str, bytes, int, str]


@pytest.mark.parametrize(
    "case",
    [
        (None, "application/json", b"{}", 403, "no Origin"),
        ("null", "application/json", b"{}", 403, "no Origin"),
        ("http://evil.example", "application/json", b"{}", 403, "not 'http://evil.example'"),
        ("http://127.0.0.1:9999", "application/json", b"{}", 403, "own pages"),
        ("http://127.0.0.1:7080", "application/x-www-form-urlencoded", b"reason=x", 415, "as JSON"),
        ("http://127.0.0.1:7080", "text/plain", b"{}", 415, "as JSON"),
        ("http://127.0.0.1:7080", "application/json", b"{not json", 400, "not JSON"),
        ("http://127.0.0.1:7080", "application/json", b'{"reason": 3}', 400, "reason must be text"),
        ("http://127.0.0.1:7080", "application/json", b'{"force": true}', 400, "reason optional"),
        ("http://127.0.0.1:7080", "application/json", b" " * 20_000, 413, "at most"),
    ],
)
def test_a_command_from_anywhere_but_the_dashboard_page_is_refused_saying_why(
    app: DashboardApp, api: FakeRunsApi, case: RefusedCommand
) -> None:
    origin, content_type, payload, status, words = case

    reply = post_command(app, "cancel", payload, origin=origin, content_type=content_type)

    assert reply.status == status
    assert words in body(reply)["error"]
    assert api.commands == []


def test_unknown_commands_and_run_ids_are_refused_before_the_api(app: DashboardApp, api: FakeRunsApi) -> None:
    assert post_command(app, "explode").status == 404
    assert post_command(app, "cancel", run_id="not-a-run").status == 400
    assert api.commands == []


def test_the_api_refusing_a_command_is_passed_on_with_its_message(app: DashboardApp) -> None:
    reply = post_command(app, "approve")

    assert reply.status == 409
    assert "not awaiting approval" in body(reply)["error"]


def test_the_run_page_offers_the_commands_the_run_accepts_now(app: DashboardApp, api: FakeRunsApi) -> None:
    assert body(get(app, f"/data/runs/{RUN_ID}"))["commands"] == ["retry"]
    api.runs[RUN_ID] = api_run(runtimeStatus="Running", stage="training", state="running")
    assert body(get(app, f"/data/runs/{RUN_ID}"))["commands"] == ["cancel"]
    api.runs[RUN_ID] = api_run(runtimeStatus="Running", stage="awaiting_approval", state="waiting")
    assert body(get(app, f"/data/runs/{RUN_ID}"))["commands"] == ["approve", "reject", "cancel"]


@pytest.mark.parametrize("host", ["evil.example", "evil.example:7080", "10.0.0.5:7080"])
def test_requests_for_another_host_name_are_refused(app: DashboardApp, host: str) -> None:
    reply = get(app, "/data/runs", host=host)
    assert reply.status == 403
    assert "127.0.0.1 or localhost" in body(reply)["error"]


@pytest.mark.parametrize("host", ["127.0.0.1:7080", "localhost:7080", "[::1]:7080", "localhost"])
def test_loopback_host_names_are_served(app: DashboardApp, host: str) -> None:
    assert get(app, "/data/runs", host=host).status == 200


def test_runs_are_listed_with_only_the_shown_fields_and_allowed_filters(app: DashboardApp, api: FakeRunsApi) -> None:
    api.runs[RUN_ID]["input"] = {"secret": "not for the page"}
    reply = get(app, "/data/runs?state=failed&family=xbox&since=2026-11-01T00:00:00%2B00:00&evil=1")
    assert reply.status == 200
    listing = body(reply)
    assert listing["count"] == 1
    row = listing["runs"][0]
    assert row["runId"] == RUN_ID
    assert "input" not in row
    assert "stages" not in row
    assert api.filters[-1] == {"state": "failed", "family": "xbox", "since": "2026-11-01T00:00:00+00:00"}


def test_an_api_refusal_is_passed_on_with_its_message(app: DashboardApp) -> None:
    reply = get(app, "/data/runs?since=bad")
    assert reply.status == 400
    assert "ISO 8601" in body(reply)["error"]


def test_an_unreachable_api_is_a_bad_gateway_saying_so(store: InMemoryBlobStore) -> None:
    app = DashboardApp(FakeRunsApi(unreachable=True), ReportReader(store, REPORTS_CONTAINER), EventLog())
    for target in ("/data/runs", f"/data/runs/{RUN_ID}"):
        reply = get(app, target)
        assert reply.status == 502
        assert body(reply) == {"error": "the HTTP API does not answer"}


def test_a_run_that_is_not_there_is_not_found(app: DashboardApp) -> None:
    reply = get(app, "/data/runs/ft-other-0123456789ab")
    assert reply.status == 404
    assert "no run with id" in body(reply)["error"]
    assert get(app, "/data/runs/not-a-run").status == 400
    assert get(app, "/data/runs/..%2Fsecrets").status == 404


def test_the_run_page_has_timeline_events_loss_validation_smoke_and_links(
    app: DashboardApp, store: InMemoryBlobStore, events: EventLog
) -> None:
    write_report(store, "summary.json", summary_json())
    write_report(store, "validation-report.json", validation_json())
    write_report(store, "smoke-report.json", smoke_json())
    write_report(store, "report.html", b"<h1>report</h1>")
    events.add([event(EventType.TRAINING_SUBMITTED, 3, jobName="job-1"), event(EventType.RUN_ACCEPTED, 1)])
    page = body(get(app, f"/data/runs/{RUN_ID}"))
    assert page["run"]["runId"] == RUN_ID
    assert (page["outcome"], page["reason"], page["ended"]) == ("succeeded", "promoted", True)
    assert [(s["stage"], s["seconds"]) for s in page["stages"]] == [
        ("validating", 2.0),
        ("training", 20.0),
        ("deploying", None),
    ]
    assert [e["type"] for e in page["events"]] == ["finetune.run.accepted", "finetune.training.submitted"]
    assert page["events"][1]["facts"] == {"jobName": "job-1"}
    assert page["loss"]["source"] == "summary"
    assert [p["x"] for p in page["loss"]["points"]] == [0, 1, 2, 3]
    assert page["loss"]["points"][0]["train"] == 3.0
    validation = page["validation"]
    assert (validation["valid"], validation["errors"], validation["warnings"], validation["examples"]) == (
        False,
        4,
        1,
        40,
    )
    assert validation["findings"][0]["message"] == "<script>alert(1)</script> is not a role"
    assert (page["smoke"]["passed"], page["smoke"]["score"], page["smoke"]["probeCount"]) == (True, 0.82, 2)
    assert {link["name"]: link["href"] for link in page["reports"]} == {
        name: f"/reports/{RUN_ID}/{name}"
        for name in ("report.html", "summary.json", "validation-report.json", "smoke-report.json")
    }


def test_before_the_summary_the_loss_comes_from_training_events(
    app: DashboardApp, api: FakeRunsApi, events: EventLog
) -> None:
    api.runs[RUN_ID] = api_run(runtimeStatus="Running", stage="training", state="running", output=None)
    events.add(
        [
            event(EventType.TRAINING_STATUS_CHANGED, 4, status="running", trainLoss=2.5, validationLoss=2.7),
            event(EventType.TRAINING_STATUS_CHANGED, 5, status="finishing", trainLoss=1.5, validationLoss=None),
            event(EventType.VALIDATION_SUCCEEDED, 2, valid=True, errors=0, warnings=1, examples=30),
            event(EventType.TRAINING_SUCCEEDED, 6, status="succeeded", trainLoss=1.5, validationLoss=None),
        ]
    )
    page = body(get(app, f"/data/runs/{RUN_ID}"))
    assert page["ended"] is False
    assert page["loss"] == {
        "source": "events",
        "xLabel": "status update",
        "points": [{"x": 1, "train": 2.5, "validation": 2.7}, {"x": 2, "train": 1.5, "validation": None}],
    }
    assert page["validation"]["source"] == "event"
    assert (page["validation"]["valid"], page["validation"]["warnings"]) == (True, 1)
    assert page["smoke"] is None
    assert page["reports"] == []


def test_without_an_event_source_the_page_says_so(api: FakeRunsApi, store: InMemoryBlobStore) -> None:
    app = DashboardApp(api, ReportReader(store, REPORTS_CONTAINER), None)
    page = body(get(app, f"/data/runs/{RUN_ID}"))
    assert (page["events"], page["eventsAvailable"]) == ([], False)


def test_an_unreadable_report_is_noted_not_fatal(app: DashboardApp, store: InMemoryBlobStore) -> None:
    write_report(store, "summary.json", b'{"not": "a summary"}')
    page = body(get(app, f"/data/runs/{RUN_ID}"))
    assert page["loss"] is None
    assert page["notes"] == ["summary.json is not in the format this dashboard reads"]


def test_reports_are_served_with_their_type_and_html_is_sandboxed(app: DashboardApp, store: InMemoryBlobStore) -> None:
    write_report(store, "report.html", b"<h1>Run</h1><script>alert(1)</script>")
    write_report(store, "smoke-report.json", smoke_json())
    page = get(app, f"/reports/{RUN_ID}/report.html")
    assert (page.status, page.content_type) == (200, "text/html; charset=utf-8")
    assert ("Content-Security-Policy", REPORT_CSP) in page.headers
    assert REPORT_CSP.startswith("sandbox;")
    assert "script-src" not in REPORT_CSP
    assert get(app, f"/reports/{RUN_ID}/smoke-report.json").content_type == "application/json"


@pytest.mark.parametrize(
    "target",
    [f"/reports/{RUN_ID}/validation.jsonl", f"/reports/{RUN_ID}/..%2F..%2Fconnections.json", "/reports/x/report.html"],
)
def test_only_the_run_report_files_are_served(app: DashboardApp, store: InMemoryBlobStore, target: str) -> None:
    write_report(store, "validation.jsonl", b'{"messages": []}')
    assert get(app, target).status == 404


def test_a_report_not_written_yet_is_not_found_saying_so(app: DashboardApp) -> None:
    reply = get(app, f"/reports/{RUN_ID}/summary.json")
    assert reply.status == 404
    assert "has not been written" in body(reply)["error"]


def test_secrets_that_reach_the_data_are_never_served(
    app: DashboardApp, api: FakeRunsApi, store: InMemoryBlobStore, events: EventLog
) -> None:
    connection_string = STORAGE_SECRET.get_secret_value()
    api.runs[RUN_ID]["detail"] = f"failed with {connection_string}"
    events.add(
        [
            event(
                EventType.RUN_FAILED,
                9,
                reason="Endpoint=sb://x;SharedAccessKey=abc123def456;",
                url="https://a/b?sv=1&sig=s3cr3t",
            )
        ]
    )
    write_report(store, "report.html", f"<p>{connection_string}</p>".encode())
    served = b"".join(
        get(app, target).body for target in ("/data/runs", f"/data/runs/{RUN_ID}", f"/reports/{RUN_ID}/report.html")
    )
    for secret in (connection_string, "c2VjcmV0LWtleS1mb3ItdGVzdHM=", "abc123def456", "s3cr3t"):
        assert secret.encode() not in served
    assert b"[redacted]" in served


def test_the_served_reports_are_the_ones_the_api_links_to() -> None:
    assert tuple(REPORT_CONTENT_TYPES) == REPORT_FILES
