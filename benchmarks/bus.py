"""`python -m benchmarks bus`: events through `ServiceBusEventPublisher` to the devhost broker and back.

The broker runs in its own process (`python -m devhost broker`, SQLite persistence on), as on the
devhost, so the SDK client and the broker do not share an interpreter. Measured in the same run:
- `single_events_per_s`: one `publish([event])` (one send, one round trip) per event: the baseline;
- `batched_events_per_s`: one `publish(events)` call for all events (the adapter packs
  `ServiceBusMessageBatch`es); `batch_speedup` is the ratio of the two;
- `consumed_events_per_s`: reading everything back from subscription `all-events` with the real SDK;
- `duplicates_delivered`: re-sending 1,000 events with their ids again must deliver none.
CPU seconds per batched event (client: SDK + adapter; broker) show where time goes on a busy machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psutil
from azure.servicebus import ServiceBusClient, ServiceBusReceiveMode
from pydantic import SecretStr

from benchmarks.result import BenchmarkResult, Target
from shared import names
from shared.events import CloudEvent, EventType, build_event
from shared.servicebus import ServiceBusEventPublisher

BATCHED_EVENTS = 10_000
SINGLE_EVENTS = 2_000
DUPLICATES = 1_000
RUNS = 100
T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
START_TIMEOUT_SECONDS = 30.0


def _events(prefix: str, count: int) -> list[CloudEvent]:
    return [
        build_event(
            f"ft-{prefix}-{n % RUNS:012x}",
            EventType.TRAINING_STATUS_CHANGED,
            n // RUNS + 1,
            state="running",
            time=T0,
            data={"status": "Running", "jobId": f"job-{n % RUNS}"},
        )
        for n in range(count)
    ]


@contextmanager
def _broker_process(data_dir: Path) -> Iterator[tuple[SecretStr, psutil.Process]]:
    """`python -m devhost broker` on a free port; yields its connection string and process."""
    process = subprocess.Popen(
        [sys.executable, "-m", "devhost", "broker", "--port", "0", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        connection_string = None
        while connection_string is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            if line.startswith("Endpoint="):
                connection_string = SecretStr(line.strip())
        if connection_string is None:
            raise RuntimeError("the broker process did not print its connection string")
        yield connection_string, psutil.Process(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _consume(connection_string: SecretStr, expected: int, max_wait: float) -> tuple[int, float]:
    """Receive (and delete) from all-events until `expected` arrived or nothing comes; (count, seconds)."""
    received = 0
    with (
        ServiceBusClient.from_connection_string(connection_string.get_secret_value()) as client,
        client.get_subscription_receiver(
            names.EVENTS_TOPIC,
            names.ALL_EVENTS_SUBSCRIPTION,
            receive_mode=ServiceBusReceiveMode.RECEIVE_AND_DELETE,
            prefetch_count=500,
        ) as receiver,
    ):
        started = time.perf_counter()
        while received < expected:
            batch = receiver.receive_messages(max_message_count=500, max_wait_time=max_wait)
            if not batch:
                break
            received += len(batch)
        elapsed = time.perf_counter() - started
    return received, elapsed


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def run() -> BenchmarkResult:
    """Publish one by one, then batched, consume everything, then re-send duplicates."""
    single_events = _events("single", SINGLE_EVENTS)
    batched_events = _events("batched", BATCHED_EVENTS)
    with (
        tempfile.TemporaryDirectory(prefix="bench-bus-") as temp,
        _broker_process(Path(temp)) as (connection_string, broker),
    ):
        publisher = ServiceBusEventPublisher(topic=names.EVENTS_TOPIC, connection_string=connection_string)
        try:
            publisher.publish(_events("warmup", 10))

            started = time.perf_counter()
            for event in single_events:
                publisher.publish([event])
            single_seconds = time.perf_counter() - started

            broker_cpu, client_cpu = _cpu_seconds(broker), time.process_time()
            started = time.perf_counter()
            publisher.publish(batched_events)
            batched_seconds = time.perf_counter() - started
            broker_cpu, client_cpu = _cpu_seconds(broker) - broker_cpu, time.process_time() - client_cpu

            expected = 10 + SINGLE_EVENTS + BATCHED_EVENTS
            consumed, consume_seconds = _consume(connection_string, expected, max_wait=10.0)

            publisher.publish(batched_events[:DUPLICATES])
            duplicates, _ = _consume(connection_string, DUPLICATES, max_wait=2.0)
        finally:
            publisher.close()

    single_rate = SINGLE_EVENTS / single_seconds
    batched_rate = BATCHED_EVENTS / batched_seconds
    return BenchmarkResult(
        figures={
            "single_events": SINGLE_EVENTS,
            "batched_events": BATCHED_EVENTS,
            "single_events_per_s": round(single_rate, 1),
            "batched_events_per_s": round(batched_rate, 1),
            "batch_speedup": round(batched_rate / single_rate, 2),
            "batched_client_cpu_us_per_event": round(client_cpu / BATCHED_EVENTS * 1e6, 1),
            "batched_broker_cpu_us_per_event": round(broker_cpu / BATCHED_EVENTS * 1e6, 1),
            "consumed_events": consumed,
            "lost_events": expected - consumed,
            "consumed_events_per_s": round(consumed / consume_seconds, 1),
            "duplicates_resent": DUPLICATES,
            "duplicates_delivered": duplicates,
        },
        targets=[
            Target("batched_events_per_s", ">=", 5000),
            Target("batch_speedup", ">=", 3),
            Target("duplicates_delivered", "==", 0),
            Target("lost_events", "==", 0),
        ],
    )
