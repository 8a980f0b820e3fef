"""Seeded fake keys (settings, training data, endpoint keys) never reach events, logs, traces, reports or history.

The run happens in a child process, because OpenTelemetry is configured once per process; the child writes
every observable output into one directory, which the test then scans byte for byte.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import orjson

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STORAGE_KEY = "SeededStorageKeyAAAAAAAAAAAAAAAAAAAAAAAAAAAA0123456789=="
BUS_KEY = "SeededBusKeyBBBBBBBBBBBBBBBBBBBBBBBBBB0123456789="
DATA_KEY = "SeededDataKeyCCCCCCCCCCCCCCCCCCCCCCCCCCC0123456789=="
BEARER = "SeededBearerDDDDDDDDDDDDDDDDDDDDDDDDDDDD0123456789"
ENDPOINT_KEY_PREFIX = "fake-endpoint-key-"

RUN = textwrap.dedent(
    """
    import logging, sys
    from pathlib import Path
    import orjson
    from pydantic import SecretStr
    from opentelemetry import trace, _logs
    from devhost.engine import VirtualClock
    from shared.foundry.traced import traced
    from shared.names import REPORTS_CONTAINER
    from shared.settings import Settings
    from shared.telemetry import configure_telemetry
    from tests.unit.pipeline.conftest import chat_dataset, close_world, make_world

    out = Path(sys.argv[1])
    storage_key, bus_key, data_key, bearer = sys.argv[2:6]
    settings = Settings(
        poll_initial_seconds=60, polls_per_generation=5, smoke_sample_size=2,
        storage_connection_string=SecretStr(
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
            f"AccountKey={storage_key};BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;"
        ),
        servicebus_connection_string=SecretStr(
            f"Endpoint=sb://127.0.0.1:9;SharedAccessKeyName=Root;SharedAccessKey={bus_key};UseDevelopmentEmulator=true;"
        ),
    )
    logging.basicConfig(level=logging.DEBUG, filename=out / "app.log", format="%(levelname)s %(name)s %(message)s")
    configure_telemetry(settings, file_dir=out / "telemetry")
    logging.getLogger("startup").info("settings: %s", settings)
    world = make_world(VirtualClock(), settings)
    world.services.backend = traced(world.backend)
    good = world.run("xbox/good.jsonl", chat_dataset())
    lines = chat_dataset(30).splitlines()
    lines[4] = lines[4].replace(b"Restart the", f"Use AccountKey={data_key} then restart the".encode())
    lines[7] = lines[7].replace(b"Restart the", f"Send Authorization: Bearer {bearer} and restart the".encode())
    leaky = world.run("xbox/leaky.jsonl", b"\\n".join(lines) + b"\\n")
    (out / "events.json").write_bytes(orjson.dumps([e.model_dump(mode="json") for e in world.publisher.events]))
    instances = world.engine.query()
    (out / "instances.json").write_bytes(orjson.dumps([s.model_dump(mode="json") for s in instances]))
    for status in instances:
        history = world.engine.get_history(status.instance_id)
        (out / f"history-{status.instance_id}.json").write_bytes(orjson.dumps(history, default=str))
    for info in world.store.list_blobs(REPORTS_CONTAINER):
        target = out / "reports" / info.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(world.store.read_bytes(REPORTS_CONTAINER, info.name)[0])
    (out / "keys-used.txt").write_text(str(len(world.chat.keys_seen)))
    close_world(world)
    trace.get_tracer_provider().shutdown()
    _logs.get_logger_provider().shutdown()
    print(good.output["outcome"], leaky.output["outcome"], leaky.instance_id)
    """
)


def test_seeded_keys_appear_in_no_output_of_the_service(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", RUN, str(tmp_path), STORAGE_KEY, BUS_KEY, DATA_KEY, BEARER],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    good, leaky, leaky_id = done.stdout.split()[-3:]
    assert (good, leaky) == ("succeeded", "rejected")
    assert int((tmp_path / "keys-used.txt").read_text()) > 0, "the smoke test fetched and used endpoint keys"
    report = orjson.loads((tmp_path / "reports" / "runs" / leaky_id / "validation-report.json").read_bytes())
    assert "secret_detected" in orjson.dumps(report).decode(), "validation found the seeded keys"
    scanned = {
        path.relative_to(tmp_path).as_posix(): path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()
    }
    for required in ("app.log", "telemetry/spans.jsonl", "telemetry/logs.jsonl", "events.json", "instances.json"):
        assert scanned.get(required), f"{required} is missing or empty: the scan would prove nothing"
    assert any(name.startswith("history-") for name in scanned)
    assert any(name.startswith("reports/") and name.endswith(".html") for name in scanned)
    assert b"started run" in scanned["app.log"]
    outputs = {**scanned, "stdout": done.stdout.encode(), "stderr": done.stderr.encode()}
    for name, content in outputs.items():
        for key in (STORAGE_KEY, BUS_KEY, DATA_KEY, BEARER, ENDPOINT_KEY_PREFIX):
            assert key.encode() not in content, f"{key[:16]}... leaked into {name}"
