"""Service Bus triggers on the devhost: receive from the trigger's queue or subscription, invoke, settle.

As the Functions host does with `autoCompleteMessages`: peek-lock, one `func.ServiceBusMessage` per
invocation, complete when the function returns, abandon when it raises (the broker redelivers it with a
higher delivery count and dead-letters it after the entity's max delivery count). One devhost shortcut: a
function that raises a `PermanentError` (a malformed command, say) has its message dead-lettered at once
with the error as the reason, since redelivering it cannot help.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from azure.servicebus import ServiceBusClient, ServiceBusReceivedMessage, ServiceBusReceiver
from azure.servicebus.exceptions import ServiceBusError
from pydantic import SecretStr

from devhost.background import BackgroundLoop
from devhost.functions_host.discovery import FunctionTrigger, ServiceBusBinding
from shared.errors import ConfigurationError, PermanentError

if TYPE_CHECKING:
    from devhost.functions_host.host import FunctionsHost

log = logging.getLogger(__name__)

RECONNECT_PAUSE_S = 1.0
MAX_DESCRIPTION_CHARS = 1024


class ServiceBusTriggerListener:
    """Feeds one Service Bus trigger function from its entity until `stop()`."""

    def __init__(
        self,
        functions: FunctionsHost,
        trigger: FunctionTrigger,
        connection_string: SecretStr,
        *,
        max_wait_s: float = 1.0,
        max_messages: int = 10,
    ) -> None:
        binding = trigger.binding
        if not isinstance(binding, ServiceBusBinding):
            raise ConfigurationError(f"function {trigger.name} is not a Service Bus trigger")
        if binding.is_sessions_enabled:
            raise ConfigurationError(f"function {trigger.name}: session-enabled Service Bus triggers are not served")
        self._functions = functions
        self._trigger = trigger
        self._binding = binding
        self._connection_string = connection_string
        self._max_wait_s = max_wait_s
        self._max_messages = max_messages
        self._loop = BackgroundLoop(self._run, f"servicebus-{trigger.name}")

    @property
    def entity(self) -> str:
        """`queue` or `topic/subscription`."""
        if self._binding.queue_name:
            return self._binding.queue_name
        return f"{self._binding.topic_name}/{self._binding.subscription_name}"

    def _receiver(self, client: ServiceBusClient) -> ServiceBusReceiver:
        if self._binding.queue_name:
            return client.get_queue_receiver(self._binding.queue_name)
        return client.get_subscription_receiver(str(self._binding.topic_name), str(self._binding.subscription_name))

    def settle(self, receiver: ServiceBusReceiver, message: ServiceBusReceivedMessage) -> None:
        """Invoke the function for one message and settle the message by the outcome."""
        try:
            self._functions.invoke_servicebus(self._trigger, message)
        except PermanentError as error:
            log.warning(
                "function %s refused message %s for good; dead-lettering it: %s",
                self._trigger.name,
                message.message_id,
                error,
            )
            receiver.dead_letter_message(
                message, reason=type(error).__name__, error_description=str(error)[:MAX_DESCRIPTION_CHARS]
            )
            return
        except Exception:
            log.exception(
                "function %s failed on message %s (delivery %s); abandoning it for redelivery",
                self._trigger.name,
                message.message_id,
                message.delivery_count,
            )
            receiver.abandon_message(message)
            return
        receiver.complete_message(message)

    def run_once(self, receiver: ServiceBusReceiver) -> int:
        """Receive what is there (waiting up to the max wait) and handle it; returns how many messages."""
        messages = receiver.receive_messages(max_message_count=self._max_messages, max_wait_time=self._max_wait_s)
        for message in messages:
            self.settle(receiver, message)
        return len(messages)

    def _run(self) -> None:
        while not self._loop.stopping.is_set():
            try:
                with (
                    ServiceBusClient.from_connection_string(self._connection_string.get_secret_value()) as client,
                    self._receiver(client) as receiver,
                ):
                    while not self._loop.stopping.is_set():
                        self.run_once(receiver)
            except ServiceBusError as error:
                log.warning("Service Bus trigger %s lost its connection (%s); reconnecting", self.entity, error)
                self._loop.stopping.wait(RECONNECT_PAUSE_S)
            except Exception:
                log.exception("Service Bus trigger %s stopped on an error; restarting it", self.entity)
                self._loop.stopping.wait(RECONNECT_PAUSE_S)

    def start(self) -> None:
        """Receive on a daemon thread."""
        self._loop.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop receiving; a message being handled is settled first."""
        self._loop.stop(timeout_s)
