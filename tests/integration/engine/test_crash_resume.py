"""A real engine process killed with SIGKILL mid-activity and mid-timer resumes every instance."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from devhost.engine.history import EventType

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


def _engine_process(
    store: Path, mode: str, request: dict[str, object] | None = None, orchestrator: str = "crash_workflow"
) -> subprocess.Popen[str]:
    args = [sys.executable, "-m", "tests.integration.engine.crash_runner", str(store), mode]
    if request is not None:
        args += [orchestrator, json.dumps(request)]
    return subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _history(store: Path) -> list[dict[str, object]]:
    with sqlite3.connect(store) as db:
        rows = db.execute("SELECT event FROM history WHERE instance_id = 'crash-1' ORDER BY seq").fetchall()
    return [json.loads(row[0]) for row in rows]


def _has_event(store: Path, kind: EventType) -> bool:
    try:
        return any(ev["EventType"] == kind for ev in _history(store))
    except sqlite3.Error:
        return False


def _kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def _resume(store: Path) -> dict[str, object]:
    process = _engine_process(store, "resume")
    out, err = process.communicate(timeout=180)
    assert process.returncode == 0, err
    return dict(json.loads(out.strip().splitlines()[-1]))


def _completions(store: Path) -> list[int]:
    return [int(ev["TaskScheduledId"]) for ev in _history(store) if ev["EventType"] == EventType.TASK_COMPLETED]  # type: ignore[call-overload]


def test_killed_mid_activity_the_activity_runs_again_and_is_recorded_once(tmp_path: Path) -> None:
    store, effects, hold = tmp_path / "engine.db", tmp_path / "effects.txt", tmp_path / "hold"
    hold.touch()
    process = _engine_process(store, "start", {"file": str(effects), "hold": str(hold), "timer_seconds": 0.5})
    _wait_for(lambda: effects.exists() and "first" in effects.read_text(), "the first activity to start")
    _kill(process)
    hold.unlink()

    status = _resume(store)
    assert status["runtime_status"] == "Completed"
    assert status["output"] == ["first", "second"]
    assert effects.read_text().splitlines() == ["first", "first", "second"]  # at least once: it ran again
    assert _completions(store) == [0, 2]  # but each activity's result is in the history once


def test_killed_mid_timer_the_timer_still_fires_after_restart(tmp_path: Path) -> None:
    store, effects = tmp_path / "engine.db", tmp_path / "effects.txt"
    process = _engine_process(store, "start", {"file": str(effects), "hold": None, "timer_seconds": 3})
    _wait_for(lambda: _has_event(store, EventType.TIMER_CREATED), "the durable timer to be created")
    _kill(process)
    assert not _has_event(store, EventType.TIMER_FIRED)

    status = _resume(store)
    assert status["runtime_status"] == "Completed"
    assert effects.read_text().splitlines() == ["first", "second"]
    assert _completions(store) == [0, 2]
    kinds = [ev["EventType"] for ev in _history(store)]
    assert kinds.count(EventType.TIMER_FIRED) == 1


def test_killed_repeatedly_at_arbitrary_moments_every_step_is_recorded_once(tmp_path: Path) -> None:
    store, effects = tmp_path / "engine.db", tmp_path / "effects.txt"
    steps = 6
    process = _engine_process(store, "start", {"file": str(effects), "steps": steps}, orchestrator="many_steps")
    for progress in (1, 3, 5):
        _wait_for(
            lambda progress=progress: effects.exists() and len(effects.read_text().splitlines()) >= progress,
            f"step {progress} to run",
        )
        time.sleep(random.uniform(0, 0.3))
        _kill(process)
        process = _engine_process(store, "resume")
    out, err = process.communicate(timeout=180)
    assert process.returncode == 0, err
    status = json.loads(out.strip().splitlines()[-1])
    labels = [f"step-{i}" for i in range(steps)]
    assert status["runtime_status"] == "Completed"
    assert status["output"] == labels
    ran = effects.read_text().splitlines()
    assert list(dict.fromkeys(ran)) == labels  # every step ran, in order, some of them more than once
    history = _history(store)
    scheduled = [ev["EventId"] for ev in history if ev["EventType"] == EventType.TASK_SCHEDULED]
    assert sorted(_completions(store)) == sorted(scheduled)  # each completion recorded exactly once
