"""One whole run on the devhost: Azurite, the broker, the engine and the local foundry, all real.

An outside consumer knows only `.devhost/connections.json`, as a real consumer knows only its namespace.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient

from devhost.connections import connections_path, read_connections
from devhost.follow import collect_events, wait_for_runs
from devhost.home import Devhost, DevhostOptions
from shared.names import TRAINING_CONTAINER
from shared.runs import run_id_for

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "xbox-support.jsonl"
RUN_TIMEOUT_S = 900


@pytest.mark.e2e
def test_a_dropped_file_is_validated_trained_deployed_smoke_tested_and_promoted(tmp_path: Path) -> None:
    data_dir = tmp_path / ".devhost"
    with Devhost(DevhostOptions(data_dir=data_dir, http_port=0, poll_interval_s=0.5)):
        connections = read_connections(connections_path(data_dir))
        storage = BlobServiceClient.from_connection_string(connections.storage.get_secret_value())
        blob = storage.get_blob_client(TRAINING_CONTAINER, "xbox/support.jsonl")
        etag = blob.upload_blob(EXAMPLES.read_bytes(), overwrite=True)["etag"]
        run_id = run_id_for(TRAINING_CONTAINER, "xbox/support.jsonl", etag)
        final = wait_for_runs(connections.http, [run_id], RUN_TIMEOUT_S)[run_id]
        events = [e for e in collect_events(connections.servicebus.get_secret_value(), [run_id]) if e.subject == run_id]

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
