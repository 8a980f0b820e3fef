"""The devhost broker driven by the real azure-servicebus SDK, unchanged, over AMQP on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from azure.servicebus import (
    NEXT_AVAILABLE_SESSION,
    ServiceBusClient,
    ServiceBusMessage,
    ServiceBusReceiveMode,
    ServiceBusSubQueue,
)
from azure.servicebus.exceptions import (
    MessageLockLostError,
    MessagingEntityNotFoundError,
    ServiceBusAuthenticationError,
    SessionCannotBeLockedError,
)

from devhost.servicebus_broker import Broker
from shared import names
from tests.fixtures.broker import (
    FILTER_TOPIC,
    PLAIN_QUEUE,
    POISON_QUEUE,
    SESSION_QUEUE,
    SHORT_LOCK_QUEUE,
    BrokerFactory,
)

pytestmark = pytest.mark.integration


def _client(broker: Broker, **options: Any) -> ServiceBusClient:
    return ServiceBusClient.from_connection_string(broker.connection_string.get_secret_value(), **options)


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


def test_a_wrong_key_is_refused(broker: Broker) -> None:
    wrong = broker.connection_string.get_secret_value().replace(broker.key.get_secret_value(), "bm90LXRoZS1rZXk=")
    with (
        ServiceBusClient.from_connection_string(wrong, retry_total=0) as client,
        pytest.raises(ServiceBusAuthenticationError) as raised,
        client.get_queue_sender(PLAIN_QUEUE) as sender,
    ):
        sender.send_messages(ServiceBusMessage("x"))
    assert broker.key.get_secret_value() not in str(raised.value)
    with _client(broker) as client, client.get_queue_receiver(PLAIN_QUEUE) as receiver:
        assert receiver.receive_messages(max_message_count=1, max_wait_time=1) == []


def test_an_unknown_entity_is_not_found(broker: Broker) -> None:
    with (
        _client(broker, retry_total=0) as client,
        pytest.raises(MessagingEntityNotFoundError),
        client.get_queue_sender("no-such-queue") as sender,
    ):
        sender.send_messages(ServiceBusMessage("x"))


def test_an_expired_lock_redelivers_with_a_higher_delivery_count(broker: Broker) -> None:
    with _client(broker) as client:
        with client.get_queue_sender(SHORT_LOCK_QUEUE) as sender:
            sender.send_messages(ServiceBusMessage("work", message_id="w1"))
        with client.get_queue_receiver(SHORT_LOCK_QUEUE) as receiver:
            [first] = receiver.receive_messages(max_message_count=1, max_wait_time=5)
            assert first.delivery_count == 0
            # The 1 s lock runs out while this receiver holds the message without settling it.
            [second] = receiver.receive_messages(max_message_count=1, max_wait_time=30)
            assert second.message_id == "w1"
            assert second.delivery_count == 1
            with pytest.raises(MessageLockLostError):
                receiver.complete_message(first)
            receiver.complete_message(second)
            assert receiver.receive_messages(max_message_count=1, max_wait_time=2) == []


def test_max_delivery_count_moves_a_message_to_the_dead_letter_queue(broker: Broker) -> None:
    with _client(broker) as client:
        with client.get_queue_sender(POISON_QUEUE) as sender:
            sender.send_messages(ServiceBusMessage("poison", message_id="p1"))
        with client.get_queue_receiver(POISON_QUEUE) as receiver:
            for attempt in range(3):
                [message] = receiver.receive_messages(max_message_count=1, max_wait_time=5)
                assert message.delivery_count == attempt
                receiver.abandon_message(message)
            assert receiver.receive_messages(max_message_count=1, max_wait_time=1) == []
        with client.get_queue_receiver(POISON_QUEUE, sub_queue=ServiceBusSubQueue.DEAD_LETTER) as dead:
            [message] = dead.receive_messages(max_message_count=1, max_wait_time=5)
            assert message.message_id == "p1"
            assert message.dead_letter_reason == "MaxDeliveryCountExceeded"
            assert message.dead_letter_source == POISON_QUEUE
            dead.complete_message(message)


def test_dead_letter_defer_and_peek(broker: Broker) -> None:
    with _client(broker) as client:
        with client.get_queue_sender(PLAIN_QUEUE) as sender:
            sender.send_messages([ServiceBusMessage(f"m{i}", message_id=f"id-{i}") for i in range(3)])
        with client.get_queue_receiver(PLAIN_QUEUE) as receiver:
            peeked = receiver.peek_messages(max_message_count=10)
            assert [m.message_id for m in peeked] == ["id-0", "id-1", "id-2"]
            messages = []
            while len(messages) < 3:
                messages += receiver.receive_messages(max_message_count=3, max_wait_time=5)
            receiver.dead_letter_message(messages[0], reason="Broken", error_description="field x is missing")
            receiver.defer_message(messages[1])
            receiver.renew_message_lock(messages[2])
            receiver.complete_message(messages[2])
            [deferred] = receiver.receive_deferred_messages([messages[1].sequence_number])
            assert deferred.message_id == "id-1"
            receiver.complete_message(deferred)
            assert receiver.receive_messages(max_message_count=1, max_wait_time=1) == []
        with client.get_queue_receiver(PLAIN_QUEUE, sub_queue=ServiceBusSubQueue.DEAD_LETTER) as dead:
            [message] = dead.receive_messages(max_message_count=1, max_wait_time=5)
            assert (message.message_id, message.dead_letter_reason) == ("id-0", "Broken")
            assert message.dead_letter_error_description == "field x is missing"


def test_sessions_keep_order_and_state(broker: Broker) -> None:
    with _client(broker) as client:
        with client.get_queue_sender(SESSION_QUEUE) as sender:
            batch = sender.create_message_batch()
            for n in range(5):
                for run in ("run-a", "run-b"):
                    batch.add_message(ServiceBusMessage(f"{run}:{n}", session_id=run, message_id=f"{run}-{n}"))
            sender.send_messages(batch)
        with client.get_queue_receiver(SESSION_QUEUE, session_id="run-b") as receiver:
            received = []
            while len(received) < 5:
                chunk = receiver.receive_messages(max_message_count=5, max_wait_time=5)
                assert chunk, "session messages stopped arriving"
                for message in chunk:
                    receiver.complete_message(message)
                received += [str(m) for m in chunk]
            assert received == [f"run-b:{n}" for n in range(5)]
            assert receiver.session is not None
            receiver.session.set_state(b"checkpoint-5")
            assert receiver.session.get_state() == b"checkpoint-5"
            receiver.session.renew_lock()
        with client.get_queue_receiver(SESSION_QUEUE, session_id=NEXT_AVAILABLE_SESSION, max_wait_time=5) as receiver:
            assert receiver.session is not None
            assert receiver.session.session_id == "run-a"
            [message] = receiver.receive_messages(max_message_count=1, max_wait_time=5)
            assert str(message) == "run-a:0"


def test_a_locked_session_cannot_be_taken_by_a_second_receiver(broker: Broker) -> None:
    with _client(broker, retry_total=0) as client:
        with client.get_queue_sender(SESSION_QUEUE) as sender:
            sender.send_messages(ServiceBusMessage("x", session_id="s1"))
        with client.get_queue_receiver(SESSION_QUEUE, session_id="s1") as first:
            first.receive_messages(max_message_count=1, max_wait_time=5)
            with (
                pytest.raises(SessionCannotBeLockedError),
                client.get_queue_receiver(SESSION_QUEUE, session_id="s1") as second,
            ):
                second.receive_messages(max_message_count=1, max_wait_time=1)


def test_messages_survive_a_broker_restart(make_broker: BrokerFactory, tmp_path: Path) -> None:
    first = make_broker(data_dir=tmp_path / "durable", port=0)
    with _client(first) as client, client.get_queue_sender(PLAIN_QUEUE) as sender:
        sender.send_messages([ServiceBusMessage(f"m{i}", message_id=f"id-{i}") for i in range(3)])
    with _client(first) as client, client.get_queue_receiver(PLAIN_QUEUE) as receiver:
        [message] = receiver.receive_messages(max_message_count=1, max_wait_time=5)
        receiver.complete_message(message)
    port = first.port
    first.stop()

    second = make_broker(data_dir=tmp_path / "durable", port=port)

    assert second.key.get_secret_value() == first.key.get_secret_value()
    with _client(second) as client:
        with client.get_queue_sender(PLAIN_QUEUE) as sender:
            sender.send_messages(ServiceBusMessage("again", message_id="id-1"))  # a duplicate, still remembered
        with client.get_queue_receiver(PLAIN_QUEUE) as receiver:
            received = []
            while batch := receiver.receive_messages(max_message_count=10, max_wait_time=2):
                received += batch
                for message in batch:
                    receiver.complete_message(message)
    assert [(m.message_id, m.sequence_number) for m in received] == [("id-1", 2), ("id-2", 3)]


def test_scheduled_messages_wait_for_their_time_and_can_be_cancelled(broker: Broker) -> None:
    with _client(broker) as client:
        soon = datetime.now(UTC) + timedelta(seconds=1)
        with client.get_topic_sender(FILTER_TOPIC) as sender:
            [kept] = sender.schedule_messages(ServiceBusMessage("later", message_id="s1"), soon)
            [dropped] = sender.schedule_messages(ServiceBusMessage("never", message_id="s2"), soon)
            sender.cancel_scheduled_messages(dropped)
        assert kept != dropped
        with client.get_subscription_receiver(FILTER_TOPIC, "everything") as receiver:
            [message] = receiver.receive_messages(max_message_count=1, max_wait_time=15)
            assert datetime.now(UTC) >= soon, "a scheduled message arrived before its time"
            assert str(message) == "later"
            assert message.enqueued_time_utc is not None
            receiver.complete_message(message)
            assert receiver.receive_messages(max_message_count=1, max_wait_time=2) == []
