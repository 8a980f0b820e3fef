"""The Service Bus trigger for queue `finetune-commands`: cancel, approve, reject or retry a run.

A malformed command raises `InvalidCommandError`: the devhost dead-letters it at once with the reason; in
Azure the host retries it up to the queue's max delivery count, then dead-letters it.
"""

from __future__ import annotations

import logging

import azure.durable_functions as df
import azure.functions as func
from opentelemetry.trace import SpanKind

from shared.bootstrap import services
from shared.commands import parse_command
from shared.names import COMMANDS_QUEUE
from shared.telemetry import span
from triggers.control import CommandConflictError, UnknownRunError, handle_command

logger = logging.getLogger(__name__)
bp = df.Blueprint()


@bp.service_bus_queue_trigger(arg_name="message", queue_name=COMMANDS_QUEUE, connection="ServiceBusConnection")
@bp.durable_client_input(client_name="client")
async def run_command(message: func.ServiceBusMessage, client: df.DurableOrchestrationClient) -> None:
    """Carry out one command; commands for unknown or ended runs are logged and completed."""
    carrier = getattr(message, "application_properties", None) or getattr(message, "user_properties", None) or {}
    with span(
        "command received", {"messaging.message_id": message.message_id}, carrier=carrier, kind=SpanKind.CONSUMER
    ):
        command = parse_command(message.get_body())
        try:
            logger.info("command %s: %s", message.message_id, await handle_command(client, services(), command))
        except (UnknownRunError, CommandConflictError) as error:
            logger.warning("command %s for %s not applied: %s", command.command, command.run_id, error)
