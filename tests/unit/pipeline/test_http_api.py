"""The HTTP API end to end through the functions host and the SDK's own durable client (fakes behind the ports)."""

from __future__ import annotations

import time
from typing import Any

import orjson

from devhost.functions_host import FunctionsHost
from tests.unit.pipeline.conftest import World, chat_dataset


def call(host: FunctionsHost, method: str, path: str, body: Any = None, query: str = "") -> tuple[int, Any]:
    data = orjson.dumps(body) if body is not None and not isinstance(body, bytes) else (body or b"")
    reply = host.handle_http(
        method,
        f"http://127.0.0.1:7071{path}",
        path=path,
        query=query,
        headers={"content-type": "application/json"},
        body=data,
    )
    return reply.status_code, orjson.loads(reply.body) if reply.body else None


def wait_for_end(host: FunctionsHost, run_id: str) -> dict[str, Any]:
    for _ in range(600):
        status, body = call(host, "GET", f"/api/runs/{run_id}")
        assert status == 200
        if body["runtimeStatus"] in {"Completed", "Failed", "Terminated"}:
            return dict(body)
        time.sleep(0.05)
    raise AssertionError(f"{run_id} did not end")


def test_health_reports_storage(live_host: FunctionsHost) -> None:
    assert call(live_host, "GET", "/api/health") == (200, {"status": "ok", "checks": {"storage": "ok"}})


def test_start_a_run_from_an_uploaded_blob_then_read_it(live_world: World, live_host: FunctionsHost) -> None:
    live_world.upload("xbox/api.jsonl", chat_dataset())
    status, started = call(live_host, "POST", "/api/runs", {"blobName": "xbox/api.jsonl", "options": {"epochs": 2}})
    assert status == 202
    assert started["outcome"] == "started"
    run_id = started["runId"]
    assert call(live_host, "POST", "/api/runs", {"blobName": "xbox/api.jsonl"})[0] == 200
    final = wait_for_end(live_host, run_id)
    assert final["output"]["outcome"] == "succeeded"
    assert [stage["stage"] for stage in final["stages"]][:2] == ["validating", "preparing"]
    assert final["reports"]["report.html"].endswith(f"runs/{run_id}/report.html")
    status, listing = call(live_host, "GET", "/api/runs", query="family=xbox")
    assert status == 200
    assert [run["runId"] for run in listing["runs"]] == [run_id]
    assert call(live_host, "GET", "/api/runs", query="family=other")[1]["count"] == 0


def test_bad_requests_get_clear_errors(live_world: World, live_host: FunctionsHost) -> None:
    live_world.upload("xbox/notes.txt", b"hello")
    status, body = call(live_host, "POST", "/api/runs", b"{not json")
    assert status == 400
    assert "bad request body" in body["error"]
    assert call(live_host, "POST", "/api/runs", {"blobName": "xbox/missing.jsonl"})[0] == 404
    assert call(live_host, "POST", "/api/runs", {"blobName": "xbox/notes.txt"})[0] == 400
    status, body = call(live_host, "POST", "/api/runs", {"blobName": "../etc/passwd.jsonl"})
    assert status == 400
    assert "not a plain relative path" in body["error"]
    assert call(live_host, "GET", "/api/runs/not-a-run-id")[0] == 400
    assert call(live_host, "GET", "/api/runs/ft-nothing-000000000000")[0] == 404
    status, body = call(live_host, "POST", "/api/runs/ft-nothing-000000000000/explode")
    assert status == 404
    assert "unknown command" in body["error"]
    assert call(live_host, "POST", "/api/runs/ft-nothing-000000000000/cancel")[0] == 404
    assert call(live_host, "GET", "/api/runs", query="since=yesterday")[0] == 400


def test_approve_through_the_api(live_world: World, live_host: FunctionsHost) -> None:
    live_world.upload("xbox/gated.jsonl", chat_dataset(), {"ft_require_approval": "true"})
    run_id = call(live_host, "POST", "/api/runs", {"blobName": "xbox/gated.jsonl"})[1]["runId"]
    early = call(live_host, "POST", f"/api/runs/{run_id}/approve")
    for _ in range(600):
        body = call(live_host, "GET", f"/api/runs/{run_id}")[1]
        if body["stage"] == "awaiting_approval":
            break
        time.sleep(0.05)
    assert body["stage"] == "awaiting_approval"
    status, reply = call(live_host, "POST", f"/api/runs/{run_id}/approve", {"reason": "ship it"})
    assert status == 202, reply
    final = wait_for_end(live_host, run_id)
    assert final["output"]["outcome"] == "succeeded"
    assert early[0] == 409
    assert "not awaiting approval" in early[1]["error"]
