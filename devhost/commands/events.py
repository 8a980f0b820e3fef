"""`python -m devhost events`: print the run events published on `finetune-events`, as they arrive.

Reads the devhost's own subscription (`devhost-events`) through the real SDK by peeking, so the events
stay there for every other reader and for the next call; `--follow` keeps polling for new ones.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from typing import Any, TextIO

from devhost.commands._client_args import EXIT_FAILED, EXIT_OK, add_data_dir
from devhost.connections import connections_path, read_connections
from devhost.servicebus_broker.entities import DEVHOST_EVENTS_SUBSCRIPTION
from shared import names
from shared.errors import ConfigurationError
from shared.events import CloudEvent, InvalidEventError, parse_event

PAGE_SIZE = 100
POLL_SECONDS = 0.5


def register(subparsers: Any) -> None:
    """Add the `events` subcommand."""
    parser = subparsers.add_parser(
        "events",
        help="print the run events (CloudEvents on finetune-events)",
        description="Print the events the service published on topic finetune-events, oldest first.",
    )
    parser.add_argument("--follow", "-f", action="store_true", help="keep printing new events until Ctrl+C")
    parser.add_argument("--run", metavar="RUN_ID", help="only the events of this run")
    parser.add_argument("--json", action="store_true", help="one CloudEvent (structured JSON) per line")
    add_data_dir(parser)
    parser.set_defaults(handler=run)


def format_event(event: CloudEvent) -> str:
    """One line for people: time, run, sequence, type, state and the stage facts."""
    facts = " ".join(f"{key}={value}" for key, value in event.data.facts.items())
    line = f"{event.time:%Y-%m-%d %H:%M:%S}  {event.run_id}  #{event.data.sequence:<3} {event.type.value:<36} "
    return (line + event.data.state + ("  " + facts if facts else "")).rstrip()


def event_bodies(connection_string: str, *, follow: bool) -> Iterator[bytes]:
    """Bodies of the messages on `devhost-events`, oldest first; with `follow`, never ends (close it)."""
    from azure.servicebus import ServiceBusClient  # noqa: PLC0415 - the SDK only loads when reading events

    next_sequence = 1
    with (
        ServiceBusClient.from_connection_string(connection_string, retry_total=2) as client,
        client.get_subscription_receiver(names.EVENTS_TOPIC, DEVHOST_EVENTS_SUBSCRIPTION) as receiver,
    ):
        while True:
            page = receiver.peek_messages(max_message_count=PAGE_SIZE, sequence_number=next_sequence)
            for message in page:
                next_sequence = max(next_sequence, (message.sequence_number or 0) + 1)
                yield b"".join(message.body)
            if len(page) < PAGE_SIZE:
                if not follow:
                    return
                time.sleep(POLL_SECONDS)


def print_events(connection_string: str, args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Print the events (of one run, if asked); returns how many were printed."""
    out = out or sys.stdout
    printed = 0
    for body in event_bodies(connection_string, follow=args.follow):
        try:
            event = parse_event(body)
        except InvalidEventError as error:
            print(f"skipped a message that is not an event: {error}", file=sys.stderr)
            continue
        if args.run and event.run_id != args.run:
            continue
        print(body.decode() if args.json else format_event(event), file=out, flush=True)
        printed += 1
    return printed


def run(args: argparse.Namespace) -> int:
    """Print events until done (or until Ctrl+C with `--follow`)."""
    from azure.servicebus.exceptions import ServiceBusError  # noqa: PLC0415

    try:
        connections = read_connections(connections_path(args.data_dir))
    except ConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    try:
        printed = print_events(connections.servicebus.get_secret_value(), args)
    except ServiceBusError as error:
        print(f"error: cannot read events from the devhost's Service Bus broker: {error.message}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_OK
    if not printed and not args.follow:
        print("no events yet" + (f" for run {args.run}" if args.run else ""), file=sys.stderr)
    return EXIT_OK
