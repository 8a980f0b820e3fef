from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest
from azure.servicebus import ServiceBusClient, ServiceBusMessage, ServiceBusSubQueue

from devhost.functions_host import FunctionsHost
from devhost.functions_host.servicebus_listener import ServiceBusTriggerListener
from devhost.servicebus_broker import Broker
from shared.errors import InvalidCommandError
from tests.fixtures.broker import PLAIN_QUEUE

pytestmark = pytest.mark.integration


class Seen:
    def __init__(self) -> None:
        self.messages: list[func.ServiceBusMessage] = []
        self.condition = threading.Condition()

    def add(self, message: func.ServiceBusMessage) -> None:
        with self.condition:
            self.messages.append(message)
            self.condition.notify_all()

    def wait_for(self, count: int) -> list[func.ServiceBusMessage]:
        with self.condition:
            assert self.condition.wait_for(lambda: len(self.messages) >= count, timeout=120), self.messages
            return list(self.messages)


@pytest.fixture
def listening(broker: Broker) -> Iterator[tuple[Seen, Broker]]:
    seen = Seen()
    app = df.DFApp()
    failed_once: set[str] = set()

    @app.service_bus_queue_trigger(arg_name="msg", queue_name="%TEST_QUEUE%", connection="ServiceBusConnection")
    def on_message(msg: func.ServiceBusMessage) -> None:
        seen.add(msg)
        body = msg.get_body()
        if body == b"malformed":
            raise InvalidCommandError("command must be one of cancel, approve, reject, retry")
        if body == b"flaky" and msg.message_id not in failed_once:
            failed_once.add(msg.message_id)
            raise RuntimeError("a transient fault")

    functions = FunctionsHost(app, environ={"TEST_QUEUE": PLAIN_QUEUE})
    (trigger,) = functions.servicebus_triggers(PLAIN_QUEUE)
    listener = ServiceBusTriggerListener(functions, trigger, broker.connection_string)
    listener.start()
    yield seen, broker
    listener.stop()


def send(broker: Broker, body: bytes, message_id: str, **properties: Any) -> None:
    with (
        ServiceBusClient.from_connection_string(broker.connection_string.get_secret_value()) as client,
        client.get_queue_sender(PLAIN_QUEUE) as sender,
    ):
        sender.send_messages(
            ServiceBusMessage(body, message_id=message_id, application_properties=properties, subject="cmd")
        )


def eventually(condition: Callable[[], bool], timeout_s: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def remaining(broker: Broker, sub_queue: ServiceBusSubQueue | None = None) -> list[Any]:
    with (
        ServiceBusClient.from_connection_string(broker.connection_string.get_secret_value()) as client,
        client.get_queue_receiver(PLAIN_QUEUE, sub_queue=sub_queue) as receiver,
    ):
        return list(receiver.peek_messages(max_message_count=10))


def test_message_reaches_the_function_and_is_completed(listening: tuple[Seen, Broker]) -> None:
    seen, broker = listening
    send(broker, b'{"command": "cancel"}', "m-1", runId="ft-a-0123456789ab", attempt=1)
    (message,) = seen.wait_for(1)
    assert message.get_body() == b'{"command": "cancel"}'
    assert message.message_id == "m-1"
    assert message.subject == "cmd"
    assert message.application_properties == {"runId": "ft-a-0123456789ab", "attempt": 1}
    assert message.delivery_count == 1
    assert eventually(lambda: remaining(broker) == []), remaining(broker)


def test_function_that_raises_gets_the_message_again(listening: tuple[Seen, Broker]) -> None:
    seen, broker = listening
    send(broker, b"flaky", "m-2")
    first, second = seen.wait_for(2)
    assert first.message_id == second.message_id == "m-2"
    assert second.delivery_count == first.delivery_count + 1


def test_permanent_error_dead_letters_at_once_with_the_reason(listening: tuple[Seen, Broker]) -> None:
    seen, broker = listening
    send(broker, b"malformed", "m-3")
    seen.wait_for(1)
    assert eventually(lambda: bool(remaining(broker, ServiceBusSubQueue.DEAD_LETTER)))
    (letter,) = remaining(broker, ServiceBusSubQueue.DEAD_LETTER)
    assert letter.message_id == "m-3"
    assert letter.dead_letter_reason == "InvalidCommandError"
    assert "cancel, approve, reject, retry" in (letter.dead_letter_error_description or "")
    assert len(seen.messages) == 1
