"""Commands over the queue and the HTTP API on a real `devhost up`: bad ones get a clear error, nothing crashes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from azure.servicebus import ServiceBusClient, ServiceBusMessage, ServiceBusSubQueue

from devhost.connections import DevhostConnections
from devhost.process import DevhostProcess
from shared.names import COMMANDS_QUEUE
from tests.reliability.scenarios import APP_REF, devhost_env

MALFORMED = {
    "not-json": b"{cancel it please",
    "not-an-object": b'["cancel", "ft-x-000000000000"]',
    "unknown-verb": b'{"command": "explode", "runId": "ft-x-000000000000"}',
    "no-run-id": b'{"command": "cancel"}',
    "extra-key": b'{"command": "cancel", "runId": "ft-x-000000000000", "force": true}',
    "traversal-run-id": b'{"command": "cancel", "runId": "../../admin"}',
    "control-run-id": b'{"command": "cancel", "runId": "ft-x\\n000000000000"}',
    "dots-run-id": b'{"command": "approve", "runId": ".."}',
    "huge-reason": b'{"command": "cancel", "runId": "ft-x-000000000000", "reason": "' + b"x" * 5000 + b'"}',
}
UNKNOWN_RUNS = {
    "unknown-run": b'{"command": "cancel", "runId": "ft-nothing-000000000000"}',
}


@pytest.fixture(scope="module")
def devhost(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DevhostProcess, DevhostConnections]]:
    scratch: Path = tmp_path_factory.mktemp("commands")
    with DevhostProcess(scratch / "devhost", app_ref=APP_REF, env=devhost_env(scratch / "backend.pickle", 0)) as host:
        yield host, host.start()


def test_malformed_queue_commands_are_dead_lettered_with_a_reason_and_unknown_runs_are_not_applied(
    devhost: tuple[DevhostProcess, DevhostConnections],
) -> None:
    host, connections = devhost
    with ServiceBusClient.from_connection_string(connections.servicebus.get_secret_value()) as bus:
        with bus.get_queue_sender(COMMANDS_QUEUE) as sender:
            for message_id, body in {**MALFORMED, **UNKNOWN_RUNS}.items():
                sender.send_messages(ServiceBusMessage(body, message_id=message_id))
        dead: dict[str, tuple[str | None, str | None]] = {}
        deadline = time.monotonic() + 120
        with bus.get_queue_receiver(COMMANDS_QUEUE, sub_queue=ServiceBusSubQueue.DEAD_LETTER) as receiver:
            while len(dead) < len(MALFORMED) and time.monotonic() < deadline:
                for message in receiver.receive_messages(max_message_count=20, max_wait_time=2):
                    dead[str(message.message_id)] = (message.dead_letter_reason, message.dead_letter_error_description)
                    receiver.complete_message(message)
        with bus.get_queue_receiver(COMMANDS_QUEUE) as receiver:
            leftover = receiver.peek_messages(max_message_count=20)
    assert set(dead) == set(MALFORMED), dead
    assert {reason for reason, _ in dead.values()} == {"InvalidCommandError"}
    assert "not valid JSON" in str(dead["not-json"][1])
    assert "runId" in str(dead["traversal-run-id"][1])
    assert "dots only" in str(dead["dots-run-id"][1])
    assert "reason" in str(dead["huge-reason"][1])
    assert leftover == [], "unknown runs are settled, not redelivered forever"
    assert host.process is not None
    assert host.process.poll() is None, "the devhost is still running"
    log = host.log_path.read_text(encoding="utf-8", errors="replace")
    assert "ft-nothing-000000000000 not applied: no run with id" in log
    assert "Traceback" not in log


def test_http_commands_with_unknown_runs_or_bad_bodies_get_clear_errors(
    devhost: tuple[DevhostProcess, DevhostConnections],
) -> None:
    _, connections = devhost
    with httpx.Client(base_url=connections.http, timeout=30) as client:
        unknown = client.post("/api/runs/ft-nothing-000000000000/cancel", json={"reason": "test"})
        assert unknown.status_code == 404
        assert "no run with id" in unknown.json()["error"]
        for path in ("/api/runs/..%2F..%2Fadmin/cancel", "/api/runs/%2E%2E/cancel", "/api/runs/ft-x%0A1/cancel"):
            reply = client.post(path)
            assert reply.status_code in {400, 404}, (path, reply.status_code, reply.text)
            assert reply.json()["error"], path
        bad = client.post("/api/runs", content=b"\xff\xfe not json", headers={"content-type": "application/json"})
        assert bad.status_code == 400
        assert "error" in bad.json()
        assert client.get("/api/health").status_code == 200
