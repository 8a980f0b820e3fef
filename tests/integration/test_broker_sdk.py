"""The devhost broker driven by the real azure-servicebus SDK, unchanged, over AMQP on 127.0.0.1."""

from __future__ import annotations

import pytest
from azure.servicebus import ServiceBusClient, ServiceBusMessage, ServiceBusReceiveMode

from devhost.servicebus_broker import Broker
from shared import names
from tests.fixtures.broker import PLAIN_QUEUE

pytestmark = pytest.mark.integration


def _client(broker: Broker) -> ServiceBusClient:
    return ServiceBusClient.from_connection_string(broker.connection_string.get_secret_value())


def test_queue_round_trip_keeps_every_property(broker: Broker) -> None:
    with _client(broker) as client:
        with client.get_queue_sender(PLAIN_QUEUE) as sender:
            sender.send_messages(
                ServiceBusMessage(
                    b'{"hello": "world"}',
                    message_id="msg-1",
                    subject="greeting",
                    content_type="application/json",
                    correlation_id="corr-1",
                    application_properties={"runId": "ft-x", "attempt": 2},
                )
            )
        with client.get_queue_receiver(PLAIN_QUEUE, max_wait_time=5) as receiver:
            [message] = receiver.receive_messages(max_message_count=1, max_wait_time=10)
            assert b"".join(message.body) == b'{"hello": "world"}'
            assert message.message_id == "msg-1"
            assert message.subject == "greeting"
            assert message.content_type == "application/json"
            assert message.correlation_id == "corr-1"
            assert message.application_properties == {b"runId": b"ft-x", b"attempt": 2}
            assert message.sequence_number == 1
            assert message.delivery_count == 0
            assert message.enqueued_time_utc is not None
            assert message.locked_until_utc is not None
            receiver.complete_message(message)
            assert receiver.receive_messages(max_message_count=1, max_wait_time=1) == []


def test_receive_and_delete_removes_the_message(broker: Broker) -> None:
    with _client(broker) as client:
        with client.get_queue_sender(names.COMMANDS_QUEUE) as sender:
            sender.send_messages([ServiceBusMessage(f"m{i}", message_id=f"id-{i}") for i in range(3)])
        with client.get_queue_receiver(
            names.COMMANDS_QUEUE, receive_mode=ServiceBusReceiveMode.RECEIVE_AND_DELETE
        ) as receiver:
            received = []
            while len(received) < 3:
                batch = receiver.receive_messages(max_message_count=3, max_wait_time=5)
                assert batch, "the broker stopped delivering before all messages arrived"
                received.extend(str(m) for m in batch)
        assert received == ["m0", "m1", "m2"]
        with client.get_queue_receiver(names.COMMANDS_QUEUE) as receiver:
            assert receiver.receive_messages(max_message_count=1, max_wait_time=1) == []
