"""`python -m benchmarks pipeline`: many runs at once, and how big a history a 48-hour training makes.

Two measurements in one run:
- on the devhost engine with a virtual clock and in-memory ports, 20 runs start together and each
  training takes 48 hours, polled with the default backoff (30 s doubling to a 10-minute cap, about 290
  polls) and continuing as new every 20 polls: the largest history of any instance generation must stay
  bounded (target <= 200 events);
- on the whole devhost (Azurite, the broker, the engine, the local foundry that really fine-tunes), 20
  files are uploaded at once; an outside consumer on subscription `all-events` counts every event and
  any event id it sees twice. Set `PIPELINE_BENCH_REAL=0` to skip this part (it takes minutes).
"""

from __future__ import annotations

import os
import time
from datetime import timedelta

from benchmarks.result import BenchmarkResult, Target
from devhost.engine import Engine, VirtualClock
from shared.bootstrap import Services, use_services
from shared.names import REPORTS_CONTAINER, STATE_CONTAINER, TRAINING_CONTAINER
from shared.policy import Backoff
from shared.settings import Settings
from tests.fakes.backend import EchoingChatClient, FakeBackend, FakeFaults
from tests.fakes.durable_client import EngineClient
from tests.fakes.storage import InMemoryBlobStore
from tests.unit.pipeline.conftest import RecordingPublisher, chat_dataset, trained_reply

RUNS = 20
TRAINING = timedelta(hours=48)


def simulated_long_trainings(runs: int = RUNS) -> dict[str, float | int]:
    """20 runs whose training lasts 48 hours, on the virtual clock; returns history and event figures."""
    import function_app  # noqa: PLC0415 - imported after the benchmark decides what to run
    from devhost.client_loop import run_on_client_loop  # noqa: PLC0415
    from triggers.control import start_run  # noqa: PLC0415

    store = InMemoryBlobStore()
    for container in (TRAINING_CONTAINER, REPORTS_CONTAINER, STATE_CONTAINER):
        store.ensure_container(container)
    settings = Settings(default_max_training_hours=72, smoke_sample_size=3)
    backoff = Backoff(settings.poll_initial_seconds, settings.poll_max_seconds)
    polls, waited = 0, 0.0
    while waited < TRAINING.total_seconds():
        waited += backoff.delay_s(polls)
        polls += 1
    publisher = RecordingPublisher()
    backend = FakeBackend(faults=FakeFaults(polls_until_done=polls))
    deps = Services(settings, store, publisher, backend, EchoingChatClient(responder=trained_reply))
    use_services(deps)
    engine = Engine(function_app.app, clock=VirtualClock(), activity_workers=4)
    client = EngineClient(engine)
    started = time.perf_counter()
    try:
        run_ids = []
        for number in range(runs):
            name = f"bench/run-{number:02d}.jsonl"
            store.upload(TRAINING_CONTAINER, name, chat_dataset(30 + number))
            result = run_on_client_loop(start_run(client, deps, TRAINING_CONTAINER, name))
            run_ids.append(result.run_id)
        outcomes = [engine.run_until_complete(str(run_id), timeout_s=1800).output["outcome"] for run_id in run_ids]
    finally:
        engine.stop()
        use_services(None)
    ids = [event.id for event in publisher.events]
    return {
        "simulated_runs": runs,
        "simulated_succeeded": outcomes.count("succeeded"),
        "simulated_training_hours": TRAINING.total_seconds() / 3600,
        "simulated_polls_per_training": backend.faults.polls_until_done,
        "max_history_events": engine.stats.longest_history,
        "simulated_wall_s": round(time.perf_counter() - started, 2),
        "simulated_duplicate_events": len(ids) - len(set(ids)),
    }


def run() -> BenchmarkResult:
    """Both measurements, with their targets."""
    figures: dict[str, float | int | str] = dict(simulated_long_trainings())
    targets = [
        Target("simulated_succeeded", "==", RUNS),
        Target("max_history_events", "<=", 200),
        Target("simulated_duplicate_events", "==", 0),
    ]
    if os.environ.get("PIPELINE_BENCH_REAL", "1") != "0":
        from benchmarks.pipeline_devhost import uploads_on_the_devhost  # noqa: PLC0415

        figures.update(uploads_on_the_devhost(RUNS))
        targets += [
            Target("runs", "==", RUNS),
            Target("succeeded", "==", RUNS),
            Target("duplicate_events", "==", 0),
        ]
    return BenchmarkResult(figures=figures, targets=targets)
