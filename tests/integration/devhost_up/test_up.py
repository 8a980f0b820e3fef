from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import psutil
import pytest
from azure.servicebus import ServiceBusClient, ServiceBusMessage

from devhost.connections import DevhostConnections, read_connections
from devhost.process import crash_devhost
from shared.storage import AzureBlobStore

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
T = TypeVar("T")


def eventually(probe: Callable[[], T | None], what: str, timeout_s: float = 120.0) -> T:
    """Poll `probe` until it returns something; generous timeout, the machine is shared."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = probe()
        if value is not None:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class Up:
    """`python -m devhost up` in a subprocess with its output in a file."""

    def __init__(self, data_dir: Path, app: str = "tests.fakes.up_app:app") -> None:
        self.data_dir = data_dir
        self.app = app
        self.log = data_dir.parent / f"{data_dir.name}-{time.monotonic_ns()}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "devhost", "up", "--data-dir", str(data_dir), "--http-port", "0",
                 "--poll-interval", "0.3", "--app", app],
                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def connections(self) -> DevhostConnections:
        def ready() -> DevhostConnections | None:
            assert self.process.poll() is None, f"devhost up exited early:\n{self.output()}"
            path = self.data_dir / "connections.json"
            if not path.exists():
                return None
            connections = read_connections(path)
            try:  # a file left by an earlier devhost on this data directory does not count
                health = httpx.get(f"{connections.http}/api/health", timeout=30).json()
            except httpx.HTTPError:
                return None
            return connections if health.get("pid", self.process.pid) == self.process.pid else None

        return eventually(ready, "connections.json")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=120)

    def kill(self) -> None:
        crash_devhost(self.process, self.data_dir)  # as the reliability suite crashes it: Azurite keeps its writes


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "devhost"
    yield path
    # Whatever a failed test left running on this data directory.
    from devhost.orphans import ChildRegistry  # noqa: PLC0415 (cleanup only)

    if path.exists():
        ChildRegistry(path).end_orphans()


def markers(store: AzureBlobStore, name: str) -> list[str]:
    return [b.name for b in store.list_blobs("finetune-reports", f"seen/{name}/")]


def test_up_serves_http_fires_blob_triggers_refuses_a_twin_and_stops_cleanly_on_sigterm(data_dir: Path) -> None:
    up = Up(data_dir)
    try:
        connections = up.connections()
        assert (data_dir / "connections.json").stat().st_mode & 0o777 == 0o600
        assert connections.http.startswith("http://127.0.0.1:")
        response = httpx.get(f"{connections.http}/api/health", timeout=30)
        assert response.status_code == 200
        assert response.json()["pid"] == up.process.pid

        started = httpx.post(f"{connections.http}/api/orchestrations/greet", json="world", timeout=30)
        assert started.status_code == 202
        assert started.headers["location"].startswith(f"{connections.http}/runtime/webhooks/durabletask/instances/")
        assert (data_dir / "engine.sqlite").exists()

        def finished() -> dict[str, object] | None:
            status = httpx.get(started.headers["location"], timeout=30).json()
            return status if status["runtimeStatus"] in {"Completed", "Failed"} else None

        assert eventually(finished, "the orchestration")["output"] == "hello world"

        twin = Up(data_dir)
        assert twin.process.wait(timeout=120) == 1
        assert "already running" in twin.output()

        store = AzureBlobStore(connection_string=connections.storage)
        try:
            store.upload("training-data", "team/a.jsonl", b'{"messages": []}\n')
            eventually(lambda: markers(store, "team/a.jsonl") or None, "the blob trigger")
        finally:
            store.close()
        with (
            ServiceBusClient.from_connection_string(connections.servicebus.get_secret_value()) as bus,
            bus.get_queue_sender("finetune-commands") as sender,
        ):
            sender.send_messages(ServiceBusMessage(b'{"command": "cancel"}', message_id="cmd-1"))
        store = AzureBlobStore(connection_string=connections.storage)
        try:
            eventually(lambda: list(store.list_blobs("finetune-reports", "commands/cmd-1")) or None, "the bus trigger")
        finally:
            store.close()
        printed = up.output()
        assert connections.storage.get_secret_value() not in printed
        assert connections.servicebus.get_secret_value() not in printed
        assert "AccountKey" not in printed
        assert "SharedAccessKey" not in printed
        assert f"{connections.http}/api/health" in printed
    finally:
        code = up.stop()
    assert code == 0, up.output()
    assert "the devhost has stopped" in up.output()
    assert not (data_dir / "connections.json").exists()
    assert (data_dir / "children.json").read_text() == "[]"


def test_up_after_kill_9_resumes_without_firing_a_blob_twice(data_dir: Path) -> None:
    first = Up(data_dir)
    try:
        connections = first.connections()
        napping = httpx.post(f"{connections.http}/api/orchestrations/nap", json=8, timeout=30)
        assert napping.status_code == 202
        instance_id = napping.json()["id"]
        store = AzureBlobStore(connection_string=connections.storage)
        store.upload("training-data", "a.jsonl", b"first\n")
        eventually(lambda: markers(store, "a.jsonl") or None, "the first blob trigger")
        store.close()
        azurite_pids = [c.pid for c in psutil.Process(first.process.pid).children(recursive=True)]
        still = httpx.get(napping.headers["location"], timeout=30).json()
        assert still["runtimeStatus"] in {"Pending", "Running"}  # killed while its durable timer is pending
    finally:
        first.kill()
    assert azurite_pids

    second = Up(data_dir)
    try:
        connections = second.connections()
        assert not any(_alive(pid) for pid in azurite_pids)  # nothing of the killed devhost is left running
        store = AzureBlobStore(connection_string=connections.storage)
        try:
            store.upload("training-data", "b.jsonl", b"second\n")
            eventually(lambda: markers(store, "b.jsonl") or None, "the second blob trigger")
            assert len(markers(store, "a.jsonl")) == 1
        finally:
            store.close()

        def finished() -> dict[str, object] | None:
            url = f"{connections.http}/runtime/webhooks/durabletask/instances/{instance_id}"
            status = httpx.get(url, timeout=30).json()
            return status if status["runtimeStatus"] in {"Completed", "Failed"} else None

        # The orchestration started before the kill finishes after the restart.
        assert eventually(finished, "the orchestration started before the kill")["output"] == "hello after the nap"
    finally:
        code = second.stop()
    assert code == 0, second.output()


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
