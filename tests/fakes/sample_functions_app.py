"""A small Functions app used to test the devhost's functions host: one trigger of every kind it serves."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import azure.durable_functions as df
import azure.functions as func

FAKE_SECRET = "AccountKey=c2VjcmV0LWtleS1uZXZlci10by1sZWFr"

calls: list[tuple[str, Any]] = []
barrier = threading.Barrier(2, timeout=30)
calls_lock = threading.Lock()


def record(name: str, value: Any) -> None:
    """Remember what a function saw, for the test to assert on."""
    with calls_lock:
        calls.append((name, value))


def build_app() -> df.DFApp:
    """A fresh app object (each test discovers its own)."""
    app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

    @app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
    def health(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse(json.dumps({"status": "ok"}), mimetype="application/json")

    @app.route(route="runs", methods=["GET", "POST"])
    def list_runs(req: func.HttpRequest) -> func.HttpResponse:
        payload = {"method": req.method, "params": dict(req.params), "body": req.get_body().decode()}
        return func.HttpResponse(json.dumps(payload), mimetype="application/json", headers={"X-Fn": "list_runs"})

    @app.route(route="runs/active", methods=["GET"])
    def active_runs(req: func.HttpRequest) -> str:
        return "active"

    @app.route(route="runs/{runId}", methods=["GET"])
    def get_run(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse(
            json.dumps({"runId": req.route_params["runId"], "url": req.url, "agent": req.headers.get("user-agent")}),
            mimetype="application/json",
        )

    @app.route(route="runs/{runId}/{command}", methods=["POST"])
    @app.durable_client_input(client_name="client")
    async def run_command(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
        payload = client.get_client_response_links(None, req.route_params["runId"])
        body = {"command": req.route_params["command"], "statusQueryGetUri": payload["statusQueryGetUri"]}
        return func.HttpResponse(json.dumps(body), status_code=202, mimetype="application/json")

    @app.route(route="items/{id:int}", methods=["GET"])
    def get_item(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse(req.route_params["id"])

    @app.route(route="barrier", methods=["GET"])
    def wait_for_another(req: func.HttpRequest) -> str:
        barrier.wait()
        return "met"

    @app.route(route="async-barrier", methods=["GET"])
    async def async_wait_for_another(req: func.HttpRequest) -> str:
        await asyncio.to_thread(barrier.wait)
        return "met"

    @app.route(route="boom", methods=["GET"])
    def boom(req: func.HttpRequest) -> func.HttpResponse:
        raise RuntimeError(f"could not connect with {FAKE_SECRET}")

    @app.blob_trigger(
        arg_name="blob", path="training-data/{name}", connection="STORAGE_CONNECTION_STRING", source="EventGrid"
    )
    @app.durable_client_input(client_name="starter")
    async def on_upload(blob: func.InputStream, starter: df.DurableOrchestrationClient) -> None:
        record(
            "on_upload",
            {
                "name": blob.name,
                "first": blob.read(4),
                "rest": blob.read(),
                "task_hub": starter._orchestration_bindings.task_hub_name,
            },
        )

    @app.service_bus_queue_trigger(
        arg_name="msg", queue_name="%COMMANDS_QUEUE%", connection="SERVICEBUS_CONNECTION_STRING"
    )
    def on_command(msg: func.ServiceBusMessage) -> None:
        record("on_command", msg)

    @app.timer_trigger(arg_name="timer", schedule="*/1 * * * * *", run_on_startup=False)
    def every_second(timer: func.TimerRequest) -> None:
        record("every_second", timer)

    @app.orchestration_trigger(context_name="context")
    def orchestrator(context: df.DurableOrchestrationContext) -> Any:
        result = yield context.call_activity("echo", "x")
        return result

    @app.activity_trigger(input_name="value")
    def echo(value: str) -> str:
        return value

    return app
