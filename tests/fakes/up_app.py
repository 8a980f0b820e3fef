"""A Functions app for testing `python -m devhost up` in a subprocess: observable effects only.

Its blob trigger records each invocation as a blob `seen/<blob name>/<invocation>` in `finetune-reports`,
through the storage connection string that `up` exports before importing the app. An HTTP route starts
an orchestration through the durable client and answers with the host's check-status links.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Generator
from datetime import timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from shared.storage import AzureBlobStore

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(json.dumps({"status": "ok", "pid": os.getpid()}), mimetype="application/json")


@app.blob_trigger(arg_name="blob", path="training-data/{name}", connection="AzureWebJobsStorage", source="EventGrid")
def on_upload(blob: func.InputStream) -> None:
    store = AzureBlobStore(connection_string=os.environ["STORAGE_CONNECTION_STRING"])
    try:
        _, _, name = (blob.name or "").partition("/")
        store.upload("finetune-reports", f"seen/{name}/{uuid.uuid4().hex}", blob.read())
    finally:
        store.close()


@app.route(route="orchestrations/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_orchestration(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    instance_id = await client.start_new(req.route_params["name"], None, req.get_json())
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context")
def greet(context: df.DurableOrchestrationContext) -> Generator[Any, Any, str]:
    name = context.get_input()
    greeting: str = yield context.call_activity("say_hello", name)
    return greeting


@app.activity_trigger(input_name="name")
def say_hello(name: str) -> str:
    return f"hello {name}"


@app.service_bus_queue_trigger(arg_name="msg", queue_name="finetune-commands", connection="ServiceBusConnection")
def on_command(msg: func.ServiceBusMessage) -> None:
    store = AzureBlobStore(connection_string=os.environ["STORAGE_CONNECTION_STRING"])
    try:
        store.upload("finetune-reports", f"commands/{msg.message_id}", msg.get_body())
    finally:
        store.close()


@app.orchestration_trigger(context_name="context")
def sleepy(context: df.DurableOrchestrationContext) -> Generator[Any, Any, str]:
    yield context.create_timer(context.current_utc_datetime + timedelta(hours=6))
    return "rested"


@app.orchestration_trigger(context_name="context")
def nap(context: df.DurableOrchestrationContext) -> Generator[Any, Any, str]:
    seconds = float(context.get_input())
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=seconds))
    greeting: str = yield context.call_activity("say_hello", "after the nap")
    return greeting
