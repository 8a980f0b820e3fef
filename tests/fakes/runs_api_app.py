"""A stand-in for the app's runs API (same routes and JSON shapes) to test the client subcommands."""

from __future__ import annotations

import json
from typing import Any

import azure.durable_functions as df
import azure.functions as func

RUNS: dict[str, dict[str, Any]] = {
    "ft-xbox-0123456789ab": {
        "runId": "ft-xbox-0123456789ab",
        "runtimeStatus": "Running",
        "stage": "training",
        "state": "running",
        "detail": "epoch 2 of 3 [loss 0.41]",
        "family": "xbox",
        "createdTime": "2026-11-26T10:00:00+00:00",
        "lastUpdatedTime": "2026-11-26T10:05:00+00:00",
    },
    "ft-bad-ba5eba11ba5e": {
        "runId": "ft-bad-ba5eba11ba5e",
        "runtimeStatus": "Completed",
        "stage": "validating",
        "state": "rejected",
        "detail": "3 lines are not JSON",
        "family": "bad",
        "createdTime": "2026-11-26T09:00:00+00:00",
        "lastUpdatedTime": "2026-11-26T09:01:00+00:00",
    },
}
commands_received: list[dict[str, Any]] = []

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)


def _json(body: Any, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json")


@app.route(route="health", methods=["GET"])
def health(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"status": "ok"})


@app.route(route="runs", methods=["GET"])
def list_runs(req: func.HttpRequest) -> func.HttpResponse:
    runs = [r for r in RUNS.values() if req.params.get("state") in (None, r["state"], r["stage"])]
    return _json({"runs": runs, "count": len(runs)})


@app.route(route="runs/{runId}", methods=["GET"])
def get_run(req: func.HttpRequest) -> func.HttpResponse:
    run_id = req.route_params["runId"]
    if not run_id.startswith("ft-"):
        return _json({"error": f"{run_id!r} is not a run id (ft-<name>-<12 hex>)"}, 400)
    if run_id not in RUNS:
        return _json({"error": f"no run with id {run_id!r}"}, 404)
    stages = [
        {
            "stage": "validating",
            "state": "succeeded",
            "started_at": "2026-11-26T10:00:00Z",
            "ended_at": "2026-11-26T10:01:30Z",
            "detail": "120 examples",
        },
        {"stage": "training", "state": "running", "started_at": "2026-11-26T10:01:30Z", "ended_at": None},
    ]
    return _json({**RUNS[run_id], "stages": stages, "reports": {"report.html": "http://127.0.0.1:1/r.html"}})


@app.route(route="runs/{runId}/{command}", methods=["POST"])
def command_run(req: func.HttpRequest) -> func.HttpResponse:
    run_id, command = req.route_params["runId"], req.route_params["command"]
    body = req.get_json() if req.get_body() else {}
    commands_received.append({"runId": run_id, "command": command, "body": body})
    if run_id not in RUNS:
        return _json({"error": f"no run with id {run_id!r}"}, 404)
    if RUNS[run_id]["state"] != "running" and command != "retry":
        return _json({"error": f"run {run_id} has already ended (Completed)"}, 409)
    return _json({"runId": run_id, "command": command, "result": f"{command} requested for {run_id}"}, 202)
