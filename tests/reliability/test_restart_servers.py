"""The broker and Azurite restart in the middle of a run: the run completes and events arrive after reconnect."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import psutil
import pytest
from azure.servicebus import ServiceBusClient

from devhost.azurite import start_azurite
from devhost.follow import FINAL_EVENT_TYPES, wait_for_runs
from devhost.home import Devhost, DevhostOptions
from devhost.servicebus_broker import Broker
from shared.bootstrap import use_services
from shared.events import CloudEvent, parse_event
from shared.names import ALL_EVENTS_SUBSCRIPTION, EVENTS_TOPIC
from tests.fakes.reliability_app import install_services
from tests.reliability.scenarios import REQUIRED_EVENTS, devhost_env, upload, wait_for_stage
from tests.unit.pipeline.conftest import chat_dataset


class Consumer(threading.Thread):
    """An outside service reading `all-events`, reconnecting whenever the broker goes away."""

    def __init__(self, connection_string: str) -> None:
        super().__init__(daemon=True)
        self.connection_string = connection_string
        self.arrived: list[tuple[float, CloudEvent]] = []
        self.reconnects = 0
        # A message delivered just before the broker stopped, whose completion was lost with it, comes again
        # with the same sequence number (at-least-once delivery): counted, not kept. An event published twice
        # would be two messages, with two numbers, and would show as a repeated event id.
        self.redelivered = 0
        self._sequence_numbers: set[int] = set()
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                with (
                    ServiceBusClient.from_connection_string(self.connection_string, retry_total=0) as bus,
                    bus.get_subscription_receiver(EVENTS_TOPIC, ALL_EVENTS_SUBSCRIPTION) as receiver,
                ):
                    while not self.stopping.is_set():
                        for message in receiver.receive_messages(max_message_count=50, max_wait_time=1):
                            if message.sequence_number in self._sequence_numbers:
                                self.redelivered += 1
                            else:
                                self._sequence_numbers.add(message.sequence_number)
                                self.arrived.append((time.monotonic(), parse_event(b"".join(message.body))))
                            receiver.complete_message(message)
            except Exception:  # any broker failure: reconnect, as a real consumer does
                self.reconnects += 1
                self.stopping.wait(0.5)

    def wait_for_final(self, run_id: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(e.subject == run_id and e.type.value in FINAL_EVENT_TYPES for _, e in self.arrived):
                return
            time.sleep(0.2)
        raise AssertionError(f"no final event for {run_id} within {timeout_s:g} s")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Devhost]:
    env = devhost_env(tmp_path / "fake-backend.pickle", 0.0)
    env["FAULT_PAUSE_AFTER_ACTIVITIES"] = json.dumps({"submit_training_job": 3.0})
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    options = DevhostOptions(
        data_dir=tmp_path / "devhost",
        http_port=0,
        dashboard_port=0,
        timers=False,
        virtual_clock=True,
        poll_interval_s=0.5,
    )
    running = Devhost(options).start()
    install_services()
    try:
        yield running
    finally:
        running.stop()
        use_services(None)


def _restart_broker(home: Devhost) -> None:
    assert home.broker is not None
    port = home.broker.port
    home.broker.stop()
    time.sleep(2.0)
    broker = Broker(port=port, data_dir=home.data_dir / "servicebus").start()
    home.on_stop(broker.stop)
    home.broker = broker


def _restart_azurite(home: Devhost) -> None:
    [azurite] = [
        child for child in json.loads((home.data_dir / "children.json").read_text()) if child["name"] == "azurite"
    ]
    os.kill(azurite["pid"], signal.SIGTERM)
    psutil.Process(azurite["pid"]).wait(30)
    time.sleep(1.0)
    port = urlparse(home.addresses["storage_blob_endpoint"]).port
    assert port is not None
    server = start_azurite(home.data_dir / "azurite", blob_port=port, stop_with_parent=True)
    home.on_stop(server.stop)


def test_broker_and_azurite_restarts_mid_run_lose_nothing(home: Devhost) -> None:
    connections = home.connections()
    consumer = Consumer(connections.servicebus.get_secret_value())
    consumer.start()
    try:
        [run_id] = upload(connections, [("xbox/outage.jsonl", chat_dataset(24))])
        wait_for_stage(connections.http, run_id, "training")
        _restart_broker(home)
        _restart_azurite(home)
        back_at = time.monotonic()
        [view] = wait_for_runs(connections.http, [run_id], timeout_s=300, poll_s=0.5).values()
        assert view["output"]["outcome"] == "succeeded", view
        consumer.wait_for_final(run_id, timeout_s=120)
    finally:
        consumer.stopping.set()
        consumer.join(timeout=30)
    events = [event for _, event in consumer.arrived if event.subject == run_id]
    ids = [event.id for event in events]
    assert len(ids) == len(set(ids)), "each event is published once"
    assert set(REQUIRED_EVENTS) <= {event.type.value for event in events}
    assert sorted(event.data.sequence for event in events) == list(range(1, len(events) + 1))
    assert consumer.reconnects >= 1, "the consumer lost the broker and came back"
    after = [event.type.value for arrived_at, event in consumer.arrived if arrived_at > back_at]
    assert "finetune.run.succeeded" in after
