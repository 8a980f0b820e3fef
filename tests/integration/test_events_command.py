"""`python -m devhost events` reading the broker through the real SDK."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from pydantic import SecretStr

from devhost.cli import main
from devhost.commands.events import event_bodies
from devhost.connections import DevhostConnections, connections_path, write_connections
from devhost.servicebus_broker import Broker
from shared import names
from shared.events import EventType, build_event
from shared.servicebus import ServiceBusEventPublisher

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
def data_dir(broker: Broker, tmp_path: Path) -> Path:
    write_connections(
        DevhostConnections(
            storage=SecretStr("UseDevelopmentStorage=true"),
            servicebus=broker.connection_string,
            http="http://127.0.0.1:7071",
        ),
        connections_path(tmp_path),
    )
    publisher = ServiceBusEventPublisher(topic=names.EVENTS_TOPIC, connection_string=broker.connection_string)
    try:
        publisher.publish(
            [
                build_event("ft-a-1", EventType.RUN_ACCEPTED, 1, state="running", time=T0),
                build_event("ft-b-2", EventType.RUN_ACCEPTED, 1, state="running", time=T0),
                build_event("ft-a-1", EventType.VALIDATION_FAILED, 2, state="failed", time=T0, data={"errors": 3}),
            ]
        )
    finally:
        publisher.close()
    return tmp_path


def test_events_prints_every_event_and_can_print_them_again(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["events", "--data-dir", str(data_dir)]) == 0
    first = capsys.readouterr().out.splitlines()
    assert main(["events", "--data-dir", str(data_dir)]) == 0
    second = capsys.readouterr().out.splitlines()

    assert len(first) == 3
    assert "ft-a-1  #1   finetune.run.accepted" in first[0]
    assert first[2].endswith("failed  errors=3")
    assert second == first


def test_events_of_one_run_as_json(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["events", "--data-dir", str(data_dir), "--run", "ft-a-1", "--json"]) == 0

    lines = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]

    assert [(e["subject"], e["data"]["sequence"], e["type"]) for e in lines] == [
        ("ft-a-1", 1, "finetune.run.accepted"),
        ("ft-a-1", 2, "finetune.validation.failed"),
    ]


def test_events_without_a_running_devhost_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["events", "--data-dir", str(tmp_path)]) == 1

    assert "the devhost is not running here" in capsys.readouterr().err


def test_following_yields_events_published_later(broker: Broker, data_dir: Path) -> None:
    bodies = event_bodies(broker.connection_string.get_secret_value(), follow=True)
    try:
        backlog = [orjson.loads(next(bodies))["id"] for _ in range(3)]
        publisher = ServiceBusEventPublisher(topic=names.EVENTS_TOPIC, connection_string=broker.connection_string)
        try:
            publisher.publish([build_event("ft-a-1", EventType.RUN_FAILED, 3, state="failed", time=T0)])
        finally:
            publisher.close()
        later = orjson.loads(next(bodies))
    finally:
        bodies.close()

    assert backlog[0] == "ft-a-1:finetune.run.accepted:0:1"
    assert (later["subject"], later["type"]) == ("ft-a-1", "finetune.run.failed")
