"""The Durable HTTP management API, driven by the SDK's own DurableOrchestrationClient."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import azure.functions as func
import httpx
import pytest
from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus

from devhost.engine import Engine, EngineError, RuntimeStatus
from tests.fixtures.engine import EngineFactory
from tests.fixtures.engine_app import app

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(make_engine: EngineFactory) -> Engine:
    started = make_engine(app)
    started.start()
    return started


def _run(engine: Engine, call: Any) -> Any:
    """Run an SDK client coroutine on the engine's client loop (the SDK keeps one HTTP session per loop)."""
    return engine.with_client(call)


def test_management_url_is_on_loopback(engine: Engine) -> None:
    assert engine.management_url is not None
    assert engine.management_url.startswith("http://127.0.0.1:")


def test_client_starts_with_an_id_reads_status_and_history(engine: Engine) -> None:
    instance_id = _run(engine, lambda c: c.start_new("sequence", "via-http", 2))
    assert instance_id == "via-http"
    engine.run_until_complete("via-http")
    status = _run(engine, lambda c: c.get_status("via-http", show_history=True, show_history_output=True))
    assert status.runtime_status == OrchestrationRuntimeStatus.Completed
    assert status.output == [0, 1, {"async": "x"}]
    assert status.input_ == 2
    assert status.custom_status == {"done": 3}
    kinds = [ev["EventType"] for ev in status.historyEvents]
    assert kinds[0] == "ExecutionStarted"
    assert "TaskCompleted" in kinds


def test_client_start_of_a_running_id_is_refused(engine: Engine) -> None:
    _run(engine, lambda c: c.start_new("two_events", "busy"))
    with pytest.raises(Exception, match="already"):
        _run(engine, lambda c: c.start_new("two_events", "busy"))
    with pytest.raises(Exception, match="no orchestrator function named 'missing'"):
        _run(engine, lambda c: c.start_new("missing"))


def test_client_raises_events_and_terminates(engine: Engine) -> None:
    _run(engine, lambda c: c.start_new("two_events", "evented"))
    _run(engine, lambda c: c.raise_event("evented", "first", {"a": 1}))
    _run(engine, lambda c: c.raise_event("evented", "second", "b"))
    assert engine.run_until_complete("evented").output == [{"a": 1}, "b"]
    with pytest.raises(Exception, match="gone"):
        _run(engine, lambda c: c.raise_event("evented", "first", 1))
    with pytest.raises(Exception, match="No instance"):
        _run(engine, lambda c: c.raise_event("nobody", "first", 1))

    _run(engine, lambda c: c.start_new("two_events", "doomed"))
    _run(engine, lambda c: c.terminate("doomed", "stop it please"))
    status = engine.run_until_complete("doomed")
    assert status.runtime_status == RuntimeStatus.TERMINATED
    assert status.output == "stop it please"
    missing = _run(engine, lambda c: c.get_status("never-started"))
    assert not missing


def test_client_queries_with_filters_and_purges(engine: Engine) -> None:
    for name in ("q-1", "q-2", "other"):
        _run(engine, lambda c, name=name: c.start_new("sequence", name, 1))
    _run(engine, lambda c: c.start_new("two_events", "q-waiting"))
    for name in ("q-1", "q-2", "other"):
        engine.run_until_complete(name)
    completed = _run(engine, lambda c: c.get_status_by(runtime_status=[OrchestrationRuntimeStatus.Completed]))
    assert sorted(s.instance_id for s in completed) == ["other", "q-1", "q-2"]
    prefixed = _run(engine, lambda c: c.get_status_by(instance_id_prefix="q-"))
    assert sorted(s.instance_id for s in prefixed) == ["q-1", "q-2", "q-waiting"]
    now = engine.clock.now()
    assert _run(engine, lambda c: c.get_status_by(created_time_from=now + timedelta(minutes=1))) == []
    assert len(_run(engine, lambda c: c.get_status_all())) == 4

    purged = _run(engine, lambda c: c.purge_instance_history("q-1"))
    assert purged.instances_deleted == 1
    assert engine.get_status("q-1") is None
    assert _run(engine, lambda c: c.purge_instance_history("q-1")).instances_deleted == 0
    by_filter = _run(
        engine,
        lambda c: c.purge_instance_history_by(
            created_time_from=now - timedelta(hours=1), runtime_status=[OrchestrationRuntimeStatus.Completed]
        ),
    )
    assert by_filter.instances_deleted == 2
    assert [s.instance_id for s in engine.query()] == ["q-waiting"]


def test_http_query_pages_with_top_and_continuation_token(engine: Engine) -> None:
    for i in range(5):
        engine.start_new("two_events", instance_id=f"page-{i}")
    url = f"{engine.management_url}instances/"
    seen: list[str] = []
    token = None
    with httpx.Client() as http:
        while True:
            headers = {"x-ms-continuation-token": token} if token else {}
            response = http.get(url, params={"top": "2", "instanceIdPrefix": "page-"}, headers=headers)
            assert response.status_code == 200
            seen.extend(item["instanceId"] for item in response.json())
            token = response.headers.get("x-ms-continuation-token")
            if not token:
                break
    assert seen == [f"page-{i}" for i in range(5)]


def test_http_triggered_starter_runs_unchanged_through_invoke(engine: Engine) -> None:
    request = func.HttpRequest(
        method="POST",
        url="http://localhost:7071/api/start/fan_out",
        route_params={"name": "fan_out"},
        body=b"4",
    )
    response = engine.invoke("http_start", req=request)
    assert response.status_code == 202
    payload = response.get_body().decode()
    instance_id = json.loads(payload)["id"]
    assert "statusQueryGetUri" in payload
    assert engine.run_until_complete(instance_id).output == 6


def test_blob_triggered_starter_runs_unchanged_through_invoke(engine: Engine) -> None:
    blob = func.blob.InputStream(
        name="uploads/data.jsonl", data=b"abc", length=3, uri="http://127.0.0.1/uploads/data.jsonl"
    )
    assert engine.invoke("blob_start", blob=blob) is None
    status = engine.run_until_complete("blob-data.jsonl")
    assert status.output == [0, 1, 2, {"async": "x"}]


def test_client_functions_need_a_started_engine(make_engine: EngineFactory) -> None:
    idle = make_engine(app)
    with pytest.raises(EngineError, match=r"call engine.start\(\) first"):
        idle.invoke("blob_start", blob=func.blob.InputStream(name="uploads/x", data=b""))


def test_a_busy_management_port_is_a_clear_error(make_engine: EngineFactory, engine: Engine) -> None:
    assert engine.management_url is not None
    busy_port = int(engine.management_url.split(":")[2].split("/")[0])
    second = make_engine(app, management_port=busy_port)
    with pytest.raises(EngineError, match=f"cannot serve the Durable management API on 127.0.0.1:{busy_port}"):
        second.start()


def test_http_status_codes_follow_the_host(engine: Engine) -> None:
    base = engine.management_url
    engine.start_new("two_events", instance_id="codes-running")
    engine.start_new("orchestrator_raises", instance_id="codes-failed")
    engine.run_until_complete("codes-failed")
    with httpx.Client() as http:
        assert http.get(f"{base}instances/codes-running").status_code == 202
        failed = http.get(f"{base}instances/codes-failed")
        assert failed.status_code == 200
        assert failed.json()["runtimeStatus"] == "Failed"
        assert failed.json()["createdTime"].endswith("Z")
        assert len(failed.json()["createdTime"]) == len("2030-01-01T00:00:00Z")
        strict = http.get(f"{base}instances/codes-failed", params={"returnInternalServerErrorOnFailure": "true"})
        assert strict.status_code == 500
        conflict = http.post(f"{base}orchestrators/two_events/codes-running", json=None)
        assert conflict.status_code == 409
        assert "already Running" in conflict.json()["Message"]
        still_running = http.delete(f"{base}instances/codes-running")
        assert still_running.status_code == 412
        assert http.delete(f"{base}instances/").status_code == 400  # createdTimeFrom is required
        assert http.get(f"{base}instances/", params={"runtimeStatus": "Sleeping"}).status_code == 400
        assert http.get(f"{base}nowhere").status_code == 404
