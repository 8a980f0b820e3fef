from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from devhost.functions_host import FunctionsHost


def timer_app(seen: list[func.TimerRequest], fired: threading.Event, *, run_on_startup: bool = False) -> Any:
    app = df.DFApp()

    @app.timer_trigger(arg_name="timer", schedule="0 0 3 * * *", run_on_startup=run_on_startup)
    def janitor(timer: func.TimerRequest) -> None:
        seen.append(timer)
        fired.set()

    return app


def wait_for(condition: Callable[[], bool]) -> None:
    deadline = threading.Event()
    for _ in range(3000):
        if condition():
            return
        deadline.wait(0.01)
    raise AssertionError("condition not reached")


def test_occurrence_missed_while_down_fires_once_at_start_as_past_due(tmp_path: Path) -> None:
    status = tmp_path / "timers.json"
    status.write_text(
        json.dumps({"janitor": {"last": None, "next": "2026-01-01T03:00:00Z", "last_updated": "2026-01-01T00:00:00Z"}})
    )
    seen: list[func.TimerRequest] = []
    fired = threading.Event()
    host = FunctionsHost(timer_app(seen, fired))
    scheduler = host.timer_scheduler(status, clock=lambda: datetime(2026, 1, 1, 9, 0, tzinfo=UTC))
    scheduler.start()
    assert fired.wait(30)
    scheduler.stop()
    host.close()
    assert len(seen) == 1
    assert seen[0].past_due is True
    assert json.loads(status.read_text())["janitor"]["next"] == "2026-01-02T03:00:00Z"


def test_nothing_fires_before_the_schedule_unless_run_on_startup(tmp_path: Path) -> None:
    clock = lambda: datetime(2026, 1, 1, 9, 0, tzinfo=UTC)  # noqa: E731 (a fixed clock)
    seen: list[func.TimerRequest] = []
    fired = threading.Event()
    host = FunctionsHost(timer_app(seen, fired))
    status = tmp_path / "a.json"
    scheduler = host.timer_scheduler(status, clock=clock)
    scheduler.start()
    wait_for(status.exists)  # the loop has passed its start-up decision and is waiting for 03:00
    scheduler.stop()
    assert seen == []
    assert json.loads(status.read_text())["janitor"]["next"] == "2026-01-02T03:00:00Z"

    host = FunctionsHost(timer_app(seen, fired, run_on_startup=True))
    scheduler = host.timer_scheduler(tmp_path / "b.json", clock=clock)
    scheduler.start()
    assert fired.wait(30)
    scheduler.stop()
    host.close()
    assert [request.past_due for request in seen] == [False]


def test_timer_fires_when_its_occurrence_comes_on_the_real_clock(tmp_path: Path) -> None:
    seen: list[func.TimerRequest] = []
    fired = threading.Event()
    app = df.DFApp()

    @app.timer_trigger(arg_name="timer", schedule="* * * * * *")
    def every_second(timer: func.TimerRequest) -> None:
        seen.append(timer)
        fired.set()

    host = FunctionsHost(app)
    scheduler = host.timer_scheduler(tmp_path / "timers.json")
    scheduler.start()
    assert fired.wait(60)
    scheduler.stop()
    host.close()
    assert seen[0].past_due is False
