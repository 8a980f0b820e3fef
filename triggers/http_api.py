"""The HTTP API: list and read runs, start a run from an existing blob, send commands, health."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import orjson
from pydantic import BaseModel, Field, ValidationError

from orchestrations import names
from shared.bootstrap import services
from shared.commands import COMMAND_NAMES, Command
from shared.errors import BlobNotFoundError, InvalidCommandError, InvalidOptionsError
from shared.names import run_reports_prefix
from shared.runs import RUN_ID_PATTERN
from triggers.control import (
    CommandConflictError,
    StartOutcome,
    UnknownRunError,
    handle_command,
    runtime_status,
    start_run,
)

logger = logging.getLogger(__name__)
bp = df.Blueprint()

COMMANDS = COMMAND_NAMES
REPORT_FILES = ("report.html", "summary.json", "validation-report.json", "validation-report.html", "smoke-report.json")


class StartRunRequest(BaseModel):
    """Body of `POST /api/runs`: start a run from a blob already in the training container."""

    model_config = {"extra": "forbid"}

    blob_name: str = Field(alias="blobName", min_length=1)
    options: dict[str, Any] = Field(default_factory=dict)


def _json(body: Any, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(orjson.dumps(body), status_code=status, mimetype="application/json")


def _error(status: int, message: str) -> func.HttpResponse:
    return _json({"error": message}, status)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def run_view(status: Any) -> dict[str, Any]:
    """A run as the API shows it."""
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    return {
        "runId": status.instance_id,
        "runtimeStatus": runtime_status(status),
        "stage": custom.get("stage"),
        "state": custom.get("state"),
        "detail": custom.get("detail"),
        "family": custom.get("family"),
        "createdTime": _iso(status.created_time),
        "lastUpdatedTime": _iso(status.last_updated_time),
    }


@bp.route(route="runs", methods=["GET"])
@bp.durable_client_input(client_name="client")
async def list_runs(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """`GET /api/runs?state=&family=&since=&until=`: runs, newest first."""
    try:
        since = datetime.fromisoformat(req.params["since"]) if "since" in req.params else None
        until = datetime.fromisoformat(req.params["until"]) if "until" in req.params else None
    except ValueError:
        return _error(400, "since/until must be ISO 8601 times, e.g. 2026-11-26T00:00:00+00:00")
    statuses = await client.get_status_all()
    runs = [run_view(s) for s in statuses if s.name == names.PIPELINE and RUN_ID_PATTERN.match(s.instance_id or "")]
    wanted_state, wanted_family = req.params.get("state"), req.params.get("family")
    if wanted_state:
        runs = [r for r in runs if wanted_state in {r["state"], r["stage"], (r["runtimeStatus"] or "").lower()}]
    if wanted_family:
        runs = [r for r in runs if r["family"] == wanted_family]
    if since:
        runs = [r for r in runs if r["createdTime"] and datetime.fromisoformat(r["createdTime"]) >= since]
    if until:
        runs = [r for r in runs if r["createdTime"] and datetime.fromisoformat(r["createdTime"]) <= until]
    runs.sort(key=lambda r: r["createdTime"] or "", reverse=True)
    return _json({"runs": runs, "count": len(runs)})


@bp.route(route="runs/{runId}", methods=["GET"])
@bp.durable_client_input(client_name="client")
async def get_run(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """`GET /api/runs/{runId}`: stage, the history of stages, the outcome and links to the reports."""
    run_id = req.route_params.get("runId", "")
    if not RUN_ID_PATTERN.match(run_id):
        return _error(400, f"{run_id!r} is not a run id (ft-<name>-<12 hex>)")
    status = await client.get_status(run_id)
    if runtime_status(status) is None:
        return _error(404, f"no run with id {run_id!r}")
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    store, reports = services().store, services().settings.reports_container
    prefix = run_reports_prefix(run_id)
    return _json(
        {
            **run_view(status),
            "stages": custom.get("stages", []),
            "jobName": custom.get("job_name"),
            "deploymentName": custom.get("deployment_name"),
            "output": status.output,
            "reports": {name: store.url(reports, prefix + name) for name in REPORT_FILES},
        }
    )


@bp.route(route="runs", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def create_run(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """`POST /api/runs {"blobName": ..., "options": {...}}`: start a run from a blob already uploaded."""
    try:
        body = StartRunRequest.model_validate(orjson.loads(req.get_body() or b"{}"))
    except (orjson.JSONDecodeError, ValidationError) as error:
        return _error(
            400, f"bad request body: {error}".splitlines()[0] + ' (expected {"blobName": "...", "options": {}})'
        )
    deps = services()
    try:
        result = await start_run(client, deps, deps.settings.training_container, body.blob_name, overrides=body.options)
    except InvalidOptionsError as error:
        return _error(400, str(error))
    except BlobNotFoundError:
        return _error(404, f"no blob {body.blob_name!r} in container {deps.settings.training_container!r}")
    if result.outcome is StartOutcome.SKIPPED:
        return _error(400, f"{body.blob_name!r}: {result.detail}")
    code = 202 if result.outcome is StartOutcome.STARTED else 200
    return _json(
        {"runId": result.run_id, "outcome": result.outcome.value, "statusUrl": f"/api/runs/{result.run_id}"}, code
    )


@bp.route(route="runs/{runId}/{command}", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def command_run(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """`POST /api/runs/{runId}/{cancel|approve|reject|retry}` with an optional `{"reason": ...}`."""
    run_id, verb = req.route_params.get("runId", ""), req.route_params.get("command", "")
    if verb not in COMMANDS:
        return _error(404, f"unknown command {verb!r}; use one of: {', '.join(COMMANDS)}")
    try:
        extra = orjson.loads(req.get_body()) if req.get_body() else {}
        reason = extra.get("reason") if isinstance(extra, dict) else None
        command = Command.model_validate({"command": verb, "runId": run_id, "reason": reason})
    except (orjson.JSONDecodeError, ValidationError, InvalidCommandError) as error:
        return _error(400, f"bad command: {error}".splitlines()[0])
    try:
        done = await handle_command(client, services(), command)
    except UnknownRunError as error:
        return _error(404, str(error))
    except CommandConflictError as error:
        return _error(409, str(error))
    return _json({"runId": run_id, "command": verb, "result": done}, 202)


@bp.route(route="health", methods=["GET"])
def health(req: func.HttpRequest) -> func.HttpResponse:
    """`GET /api/health`: whether the service can reach its storage."""
    deps = services()
    try:
        next(iter(deps.store.list_blobs(deps.settings.state_container, "aliases/")), None)
        storage = "ok"
    except Exception as error:
        logger.warning("health check: storage unreachable: %s", type(error).__name__)
        storage = f"unreachable ({type(error).__name__})"
    healthy = storage == "ok"
    return _json({"status": "ok" if healthy else "degraded", "checks": {"storage": storage}}, 200 if healthy else 503)
