from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest

from devhost.home import Devhost, DevhostOptions

pytestmark = pytest.mark.integration


def test_devhost_in_process_with_a_virtual_clock_skips_a_six_hour_timer(tmp_path: Path) -> None:
    assert "STORAGE_CONNECTION_STRING" not in os.environ
    options = DevhostOptions(
        data_dir=tmp_path / "devhost",
        http_port=0,
        app_ref="tests.fakes.up_app:app",
        virtual_clock=True,
        timers=False,
    )
    with Devhost(options) as home:
        connections = home.connections()
        assert (options.data_dir / "connections.json").exists()
        assert os.environ["STORAGE_CONNECTION_STRING"] == connections.storage.get_secret_value()
        assert connections.model_extra is not None
        assert connections.model_extra["management"].startswith("http://127.0.0.1:")
        assert connections.dashboard is not None
        assert connections.dashboard.startswith("http://127.0.0.1:")
        assert '"dashboard"' in (options.data_dir / "connections.json").read_text(encoding="utf-8")
        assert "<h1>Runs</h1>" in httpx.get(connections.dashboard + "/", timeout=30).text
        started = httpx.post(f"{connections.http}/api/orchestrations/sleepy", json="me", timeout=30)
        assert started.status_code == 202
        status: dict[str, object] = {}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            status = httpx.get(started.headers["location"], timeout=30).json()
            if status["runtimeStatus"] == "Completed":
                break
            time.sleep(0.2)
        assert status["runtimeStatus"] == "Completed"
        assert status["output"] == "rested"
    assert "STORAGE_CONNECTION_STRING" not in os.environ
    assert "SERVICEBUS_CONNECTION_STRING" not in os.environ
    assert not (options.data_dir / "connections.json").exists()


def test_a_second_devhost_in_one_process_serves_the_app_against_its_own_servers(tmp_path: Path) -> None:
    for attempt in ("first", "second"):
        options = DevhostOptions(data_dir=tmp_path / attempt, http_port=0, dashboard_port=0, timers=False)
        with Devhost(options) as home:
            health = httpx.get(f"{home.connections().http}/api/health", timeout=60)
            assert health.status_code == 200, (attempt, health.text)
            assert health.json()["status"] == "ok"
