"""The devhost command consumer on queue `finetune-commands`, with the real SDK against the broker."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from azure.servicebus import ServiceBusClient, ServiceBusMessage, ServiceBusSubQueue

from devhost.command_consumer import INVALID_COMMAND_REASON, CommandConsumer
from devhost.servicebus_broker import Broker
from shared import names
from shared.commands import Command, CommandName
from tests.fixtures.broker import BrokerFactory

pytestmark = pytest.mark.integration


def _send(broker: Broker, *bodies: bytes, prefix: str = "cmd") -> None:
    with (
        ServiceBusClient.from_connection_string(broker.connection_string.get_secret_value()) as client,
        client.get_queue_sender(names.COMMANDS_QUEUE) as sender,
    ):
        sender.send_messages([ServiceBusMessage(body, message_id=f"{prefix}-{n}") for n, body in enumerate(bodies)])


def _consume_all(consumer: CommandConsumer, expected: int) -> None:
    handled = 0
    while handled < expected:
        count = consumer.run_once(max_messages=expected - handled)
        assert count, "the consumer stopped receiving before every command was settled"
        handled += count


def test_valid_commands_reach_the_handler_and_malformed_ones_are_dead_lettered(broker: Broker) -> None:
    seen: list[Command] = []
    _send(
        broker,
        b'{"command": "cancel", "runId": "ft-a-1", "reason": "wrong file"}',
        b'{"command": "explode", "runId": "ft-a-1"}',
        b"definitely not json",
        b'{"command": "approve", "runId": "ft-b-2"}',
    )
    consumer = CommandConsumer(broker.connection_string, seen.append, max_wait_seconds=3)

    _consume_all(consumer, 4)

    assert [(c.command, c.run_id, c.reason) for c in seen] == [
        (CommandName.CANCEL, "ft-a-1", "wrong file"),
        (CommandName.APPROVE, "ft-b-2", None),
    ]
    with (
        ServiceBusClient.from_connection_string(broker.connection_string.get_secret_value()) as client,
        client.get_queue_receiver(names.COMMANDS_QUEUE, sub_queue=ServiceBusSubQueue.DEAD_LETTER) as dead,
    ):
        dead_lettered = dead.receive_messages(max_message_count=2, max_wait_time=5)
        dead_lettered += dead.receive_messages(max_message_count=1, max_wait_time=1)
    assert [m.message_id for m in dead_lettered] == ["cmd-1", "cmd-2"]
    assert {m.dead_letter_reason for m in dead_lettered} == {INVALID_COMMAND_REASON}
    assert "command: Input should be" in (dead_lettered[0].dead_letter_error_description or "")
    assert "not valid JSON" in (dead_lettered[1].dead_letter_error_description or "")
    assert consumer.run_once() == 0  # nothing left on the queue


def test_a_failing_handler_gets_the_command_again(broker: Broker) -> None:
    calls: list[str] = []

    def flaky(command: Command) -> None:
        calls.append(command.run_id)
        if len(calls) == 1:
            raise RuntimeError("the orchestration client is not ready")

    _send(broker, b'{"command": "retry", "runId": "ft-c-3"}')
    consumer = CommandConsumer(broker.connection_string, flaky, max_wait_seconds=3)

    _consume_all(consumer, 2)

    assert calls == ["ft-c-3", "ft-c-3"]
    assert consumer.run_once() == 0


def _wait_for(run_id: str, seen: list[str], arrived: threading.Condition, timeout: float) -> bool:
    with arrived:
        return arrived.wait_for(lambda: run_id in seen, timeout)


def test_the_consumer_loop_survives_a_broker_restart(make_broker: BrokerFactory, tmp_path: Path) -> None:
    first = make_broker(data_dir=tmp_path / "durable")
    seen: list[str] = []
    arrived = threading.Condition()

    def handle(command: Command) -> None:
        with arrived:
            seen.append(command.run_id)
            arrived.notify_all()

    consumer = CommandConsumer(first.connection_string, handle, max_wait_seconds=1).start()
    try:
        _send(first, b'{"command": "cancel", "runId": "ft-before"}')
        assert _wait_for("ft-before", seen, arrived, 60), "the first command never reached the handler"
        first.stop()
        second = make_broker(data_dir=tmp_path / "durable")  # same port, same messages

        _send(second, b'{"command": "cancel", "runId": "ft-after"}', prefix="later")  # a new id: not a duplicate
        assert _wait_for("ft-after", seen, arrived, 120), "the consumer did not come back after the broker restarted"
    finally:
        consumer.stop(timeout=30)

    # At least once: a command whose completion the restart cut off may be handled again.
    assert seen[0] == "ft-before"
    assert set(seen) == {"ft-before", "ft-after"}
