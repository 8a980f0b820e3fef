"""The devhost's consumer of queue `finetune-commands`: validates each command and hands it on.

In Azure the Service Bus trigger does this job; on the devhost this loop receives with the real SDK
(peek-lock), calls the handler with the parsed `Command`, completes the message when the handler
returns, dead-letters a malformed command with its reason, and abandons the message when the handler
raises (the broker dead-letters it after the queue's max delivery count). Bad input never stops it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import SecretStr

from shared import names
from shared.commands import Command, parse_command
from shared.errors import InvalidCommandError

if TYPE_CHECKING:
    from azure.servicebus import ServiceBusReceivedMessage, ServiceBusReceiver

_LOG = logging.getLogger(__name__)

INVALID_COMMAND_REASON = "InvalidCommand"
RECONNECT_PAUSE_SECONDS = 1.0

CommandHandler = Callable[[Command], None]


class CommandConsumer:
    """Receives commands from a queue and calls `handler` once per valid command."""

    def __init__(
        self,
        connection_string: SecretStr,
        handler: CommandHandler,
        *,
        queue: str = names.COMMANDS_QUEUE,
        max_wait_seconds: float = 1.0,
    ) -> None:
        self._connection_string = connection_string
        self._handler = handler
        self._queue = queue
        self._max_wait = max_wait_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _settle(self, receiver: ServiceBusReceiver, message: ServiceBusReceivedMessage) -> None:
        try:
            command = parse_command(b"".join(message.body))
        except InvalidCommandError as error:
            _LOG.warning("dead-lettering malformed command %s: %s", message.message_id, error)
            receiver.dead_letter_message(message, reason=INVALID_COMMAND_REASON, error_description=str(error))
            return
        try:
            self._handler(command)
        except Exception:
            _LOG.exception("handling %s for run %s failed; it will be redelivered", command.command, command.run_id)
            receiver.abandon_message(message)
            return
        receiver.complete_message(message)

    def run_once(self, max_messages: int = 10) -> int:
        """Receive what is there (waiting up to the max wait), handle it, return how many messages."""
        from azure.servicebus import ServiceBusClient  # noqa: PLC0415 - SDK loaded only when consuming

        with (
            ServiceBusClient.from_connection_string(self._connection_string.get_secret_value()) as client,
            client.get_queue_receiver(self._queue) as receiver,
        ):
            return self._drain(receiver, max_messages)

    def _drain(self, receiver: ServiceBusReceiver, max_messages: int) -> int:
        messages = receiver.receive_messages(max_message_count=max_messages, max_wait_time=self._max_wait)
        for message in messages:
            self._settle(receiver, message)
        return len(messages)

    def run(self) -> None:
        """Consume until `stop()`; connection faults are logged and the loop reconnects."""
        from azure.servicebus import ServiceBusClient  # noqa: PLC0415
        from azure.servicebus.exceptions import ServiceBusError  # noqa: PLC0415

        while not self._stop.is_set():
            try:
                with (
                    ServiceBusClient.from_connection_string(self._connection_string.get_secret_value()) as client,
                    client.get_queue_receiver(self._queue) as receiver,
                ):
                    while not self._stop.is_set():
                        self._drain(receiver, 10)
            except ServiceBusError as error:
                _LOG.warning("command consumer lost its connection (%s); reconnecting", type(error).__name__)
                self._stop.wait(RECONNECT_PAUSE_SECONDS)

    def start(self) -> CommandConsumer:
        """Run the loop on a daemon thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="command-consumer", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the loop to end and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
