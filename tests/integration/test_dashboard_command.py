"""`python -m devhost dashboard --api URL` as a process: serves the API's runs until SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.fixtures.dashboard import LiveDashboard
from tests.unit.pipeline.conftest import chat_dataset

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def test_the_dashboard_command_serves_any_api_until_sigterm(live_dashboard: LiveDashboard) -> None:
    live_dashboard.upload("xbox/cli.jsonl", chat_dataset())
    run_id = live_dashboard.start_run("xbox/cli.jsonl")
    process = subprocess.Popen(
        [sys.executable, "-m", "devhost", "dashboard", "--api", live_dashboard.api_url, "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("ops dashboard: http://127.0.0.1:"):
            raise AssertionError(f"unexpected first line {line!r}; stderr: {process.communicate()[1]}")
        url = line.split()[2]
        with httpx.Client(base_url=url, trust_env=False, timeout=30) as client:
            assert [run["runId"] for run in client.get("/data/runs").json()["runs"]] == [run_id]
            page = client.get(f"/data/runs/{run_id}").json()
            assert page["run"]["runId"] == run_id
            assert page["eventsAvailable"] is False
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
