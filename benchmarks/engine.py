"""The durable engine: its own overhead over the SDK's replay, throughput, and history size of a long monitor.

- `overhead_ratio`: 50 sequential no-op activities; the engine's wall time divided by the time spent
  inside the SDK's orchestrator handling (context parsing + `Orchestrator.handle`), measured in the
  same run. Target <= 3.
- `instances_per_s`, `lost`: 100 instances of a 10-activity orchestration started at once on the virtual
  clock; every instance must complete with the right output (lost == 0).
- `max_history_events`: a monitor polling every 5 minutes for 48 hours that continues as new every 20
  polls; the longest history of any generation (target <= 100), with its wall seconds. The baseline is
  the same monitor without continue-as-new over 4 hours, whose history grows with every poll.

A poll costs 6 history events, as on the real host (TaskScheduled, OrchestratorStarted, TaskCompleted,
TimerCreated, OrchestratorStarted, TimerFired; the host adds OrchestratorCompleted twice more), so 20 polls
per generation make about 123 events; 16 polls per generation stay under 100 (also measured).
"""

from __future__ import annotations

import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from benchmarks.result import BenchmarkResult, Target
from devhost.engine import Engine, RuntimeStatus, VirtualClock

SEQUENTIAL_ACTIVITIES = 50
INSTANCES = 100
ACTIVITIES_PER_INSTANCE = 10
POLL_MINUTES = 5
MONITOR_HOURS = 48
POLLS_PER_GENERATION = 20
BASELINE_HOURS = 4
FITTING_POLLS_PER_GENERATION = 16

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.activity_trigger(input_name="value")  # type: ignore[untyped-decorator]
def noop(value: Any) -> Any:
    return value


@app.orchestration_trigger(context_name="context")  # type: ignore[untyped-decorator]
def sequential(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    count = context.get_input()
    total = 0
    for i in range(count):
        total += yield context.call_activity("noop", i)
    return total


@app.orchestration_trigger(context_name="context")  # type: ignore[untyped-decorator]
def monitor(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    state = context.get_input()
    for _ in range(state["polls_per_generation"]):
        if state["polls"] >= state["total_polls"]:
            return state["polls"]
        yield context.call_activity("noop", state["polls"])
        state["polls"] += 1
        yield context.create_timer(context.current_utc_datetime + timedelta(minutes=POLL_MINUTES))
    context.continue_as_new(state)
    return None


def _engine(store_dir: Path, name: str) -> Engine:
    return Engine(app, store_path=store_dir / f"{name}.db", clock=VirtualClock(), activity_workers=4)


def _overhead(store_dir: Path) -> dict[str, float]:
    engine = _engine(store_dir, "overhead")
    try:
        started = time.perf_counter()
        status = engine.run_until_complete(engine.start_new("sequential", input=SEQUENTIAL_ACTIVITIES), 300)
        wall = time.perf_counter() - started
        assert status.output == sum(range(SEQUENTIAL_ACTIVITIES)), status
        return {"overhead_ratio": round(wall / engine.stats.sdk_seconds, 2), "sequential_wall_s": round(wall, 3)}
    finally:
        engine.stop()


def _throughput(store_dir: Path) -> dict[str, float]:
    engine = _engine(store_dir, "throughput")
    try:
        started = time.perf_counter()
        ids = [engine.start_new("sequential", input=ACTIVITIES_PER_INSTANCE) for _ in range(INSTANCES)]
        engine.run_until_idle(600)
        wall = time.perf_counter() - started
        expected = sum(range(ACTIVITIES_PER_INSTANCE))
        completed = 0
        for instance_id in ids:
            status = engine.get_status(instance_id)
            if status is not None and status.runtime_status == RuntimeStatus.COMPLETED and status.output == expected:
                completed += 1
        return {"instances_per_s": round(INSTANCES / wall, 1), "lost": INSTANCES - completed}
    finally:
        engine.stop()


def _monitor(store_dir: Path, name: str, hours: int, polls_per_generation: int) -> tuple[int, float]:
    engine = _engine(store_dir, name)
    try:
        total = hours * 60 // POLL_MINUTES
        state = {"polls": 0, "total_polls": total, "polls_per_generation": polls_per_generation}
        started = time.perf_counter()
        status = engine.run_until_complete(engine.start_new("monitor", input=state), 600)
        wall = time.perf_counter() - started
        assert status.output == total, status
        return engine.stats.longest_history, wall
    finally:
        engine.stop()


def run() -> BenchmarkResult:
    """Measure the engine's figures (all on the virtual clock, stores in a temporary directory)."""
    with tempfile.TemporaryDirectory(prefix="engine-bench-") as tmp:
        store_dir = Path(tmp)
        figures: dict[str, float | int | str] = {}
        figures.update(_overhead(store_dir))
        figures.update(_throughput(store_dir))
        longest, wall = _monitor(store_dir, "monitor", MONITOR_HOURS, POLLS_PER_GENERATION)
        baseline_longest, baseline_wall = _monitor(store_dir, "baseline", BASELINE_HOURS, 10**6)
        fitting_longest, _ = _monitor(store_dir, "fitting", BASELINE_HOURS * 2, FITTING_POLLS_PER_GENERATION)
        baseline_polls = BASELINE_HOURS * 60 // POLL_MINUTES
        figures.update(
            {
                "max_history_events": longest,
                "history_events_per_poll": round((baseline_longest - 3) / baseline_polls, 2),
                f"max_history_events_at_{FITTING_POLLS_PER_GENERATION}_polls_per_generation": fitting_longest,
                "monitor_48h_wall_s": round(wall, 2),
                "baseline_4h_without_continue_as_new_history_events": baseline_longest,
                "baseline_4h_without_continue_as_new_wall_s": round(baseline_wall, 2),
            }
        )
    return BenchmarkResult(
        figures=figures,
        targets=[
            Target("overhead_ratio", "<=", 3),
            Target("lost", "==", 0),
            Target("max_history_events", "<=", 100),
        ],
    )
