"""Following runs from outside, as a user or another service would: the HTTP API and the event topic."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import httpx
from azure.servicebus import ServiceBusClient

from shared.events import CloudEvent, parse_event
from shared.names import ALL_EVENTS_SUBSCRIPTION, EVENTS_TOPIC

ENDED = frozenset({"Completed", "Failed", "Terminated"})
FINAL_EVENT_TYPES = frozenset(
    {"finetune.run.succeeded", "finetune.run.failed", "finetune.run.canceled", "finetune.run.rejected"}
)


def wait_for_runs(
    http: str, run_ids: Iterable[str], timeout_s: float, poll_s: float = 1.0
) -> dict[str, dict[str, Any]]:
    """`GET /api/runs/{id}` until every run has ended; returns each run's last view (raises on time-out)."""
    pending, ended = set(run_ids), {}
    deadline = time.monotonic() + timeout_s
    with httpx.Client(base_url=http, timeout=30) as client:
        while pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(pending)} run(s) did not end within {timeout_s:g} s: {sorted(pending)}")
            for run_id in sorted(pending):
                reply = client.get(f"/api/runs/{run_id}")
                if reply.status_code == 200 and reply.json()["runtimeStatus"] in ENDED:
                    ended[run_id] = reply.json()
                    pending.discard(run_id)
            if pending:
                time.sleep(poll_s)
    return ended


def collect_events(
    connection_string: str, run_ids: Iterable[str], *, subscription: str = ALL_EVENTS_SUBSCRIPTION, idle_s: float = 5.0
) -> list[CloudEvent]:
    """Every event on the subscription, in arrival order, until each run's final event came and the topic is idle."""
    waiting_for = set(run_ids)
    events: list[CloudEvent] = []
    with (
        ServiceBusClient.from_connection_string(connection_string) as bus,
        bus.get_subscription_receiver(EVENTS_TOPIC, subscription) as receiver,
    ):
        while True:
            batch = receiver.receive_messages(max_message_count=100, max_wait_time=idle_s)
            if not batch and not waiting_for:
                return events
            if not batch:
                raise TimeoutError(f"no final event within {idle_s:g} s for {sorted(waiting_for)}")
            for message in batch:
                event = parse_event(b"".join(message.body))
                events.append(event)
                if event.type.value in FINAL_EVENT_TYPES:
                    waiting_for.discard(event.subject)
                receiver.complete_message(message)
