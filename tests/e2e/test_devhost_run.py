"""One whole run on the devhost: Azurite, the broker, the engine and the local foundry, all real.

An outside consumer knows only `.devhost/connections.json`, as a real consumer knows only its namespace.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.servicebus import ServiceBusClient
from azure.storage.blob import BlobServiceClient

from devhost.connections import connections_path, read_connections
from devhost.home import Devhost, DevhostOptions
from shared.events import CloudEvent, parse_event
from shared.names import ALL_EVENTS_SUBSCRIPTION, EVENTS_TOPIC, TRAINING_CONTAINER
from shared.runs import run_id_for

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "xbox-support.jsonl"
RUN_TIMEOUT_S = 900


def wait_for_run(http: str, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + RUN_TIMEOUT_S
    with httpx.Client(base_url=http, timeout=30) as client:
        while time.monotonic() < deadline:
            reply = client.get(f"/api/runs/{run_id}")
            if reply.status_code == 200 and reply.json()["runtimeStatus"] in {"Completed", "Failed", "Terminated"}:
                return dict(reply.json())
            time.sleep(1)
    raise AssertionError(f"run {run_id} did not end within {RUN_TIMEOUT_S} s")


def drain_events(connection_string: str, run_id: str) -> list[CloudEvent]:
    seen: list[CloudEvent] = []
    with (
        ServiceBusClient.from_connection_string(connection_string) as bus,
        bus.get_subscription_receiver(EVENTS_TOPIC, ALL_EVENTS_SUBSCRIPTION, max_wait_time=5) as receiver,
    ):
        while not any(event.type.value.startswith("finetune.run.") and event.type.value != "finetune.run.accepted" for event in seen):
            batch = receiver.receive_messages(max_message_count=50, max_wait_time=5)
            if not batch:
                break
            for message in batch:
                event = parse_event(b"".join(message.body))
                if event.subject == run_id:
                    seen.append(event)
                receiver.complete_message(message)
    return seen


@pytest.mark.e2e
def test_a_dropped_file_is_validated_trained_deployed_smoke_tested_and_promoted(tmp_path: Path) -> None:
    data_dir = tmp_path / ".devhost"
    with Devhost(DevhostOptions(data_dir=data_dir, http_port=0, poll_interval_s=0.5)):
        connections = read_connections(connections_path(data_dir))
        storage = BlobServiceClient.from_connection_string(connections.storage.get_secret_value())
        blob = storage.get_blob_client(TRAINING_CONTAINER, "xbox/support.jsonl")
        etag = blob.upload_blob(EXAMPLES.read_bytes(), overwrite=True)["etag"]
        run_id = run_id_for(TRAINING_CONTAINER, "xbox/support.jsonl", etag)
        final = wait_for_run(connections.http, run_id)
        events = drain_events(connections.servicebus.get_secret_value(), run_id)

    assert final["output"]["outcome"] == "succeeded", final["output"]
    types = [event.type.value for event in events]
    assert types[0] == "finetune.run.accepted"
    assert types[-1] == "finetune.run.succeeded"
    for expected in ("validation.succeeded", "training.submitted", "deployment.succeeded", "smoketest.passed"):
        assert f"finetune.{expected}" in types
    sequences = [event.data.sequence for event in events]
    assert sequences == sorted(sequences)
    assert len(set(sequences)) == len(sequences)
    assert len({event.id for event in events}) == len(events)
