"""The devhost part of `python -m benchmarks pipeline`: 20 uploads at once, end to end, with real servers."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from azure.storage.blob import BlobServiceClient

from devhost.connections import connections_path, read_connections
from devhost.follow import collect_events, wait_for_runs
from devhost.home import Devhost, DevhostOptions
from shared.names import TRAINING_CONTAINER
from shared.runs import run_id_for

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "xbox-support.jsonl"
TIMEOUT_S = 3600.0


def uploads_on_the_devhost(runs: int) -> dict[str, float | int]:
    """Upload `runs` copies of the sample set at once; count runs, successes and duplicate events."""
    data = EXAMPLES.read_bytes()
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as scratch:
        data_dir = Path(scratch) / ".devhost"
        with Devhost(DevhostOptions(data_dir=data_dir, http_port=0, poll_interval_s=0.5)):
            connections = read_connections(connections_path(data_dir))
            storage = BlobServiceClient.from_connection_string(connections.storage.get_secret_value())
            started = time.perf_counter()
            run_ids = []
            for number in range(runs):
                name = f"bench/team-{number:02d}.jsonl"
                etag = storage.get_blob_client(TRAINING_CONTAINER, name).upload_blob(data, overwrite=True)["etag"]
                run_ids.append(run_id_for(TRAINING_CONTAINER, name, etag))
            ended = wait_for_runs(connections.http, run_ids, TIMEOUT_S, poll_s=2.0)
            wall_s = time.perf_counter() - started
            events = collect_events(connections.servicebus.get_secret_value(), run_ids)
    ids = [event.id for event in events]
    outcomes = [view["output"]["outcome"] for view in ended.values() if isinstance(view.get("output"), dict)]
    return {
        "runs": len(ended),
        "succeeded": outcomes.count("succeeded"),
        "wall_s": round(wall_s, 1),
        "events_seen": len(ids),
        "duplicate_events": len(ids) - len(set(ids)),
    }
