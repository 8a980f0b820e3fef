"""`python -m devhost up` with the real `function_app.py`, driven by the client subcommands."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from devhost.cli import main
from tests.integration.devhost_up.test_up import ROOT, Up, eventually

pytestmark = pytest.mark.integration


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def devhost(capsys: pytest.CaptureFixture[str], data_dir: Path, *argv: str) -> Result:
    """A client subcommand, run in this process (the devhost itself is the subprocess)."""
    code = main([*argv, "--data-dir", str(data_dir)])
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def test_up_serves_the_app_and_an_invalid_upload_ends_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "devhost"
    up = Up(data_dir, app="function_app:app")
    try:
        connections = up.connections()
        health = httpx.get(f"{connections.http}/api/health", timeout=30)
        assert health.status_code == 200
        assert health.json()["status"] == "ok"

        listed = devhost(capsys, data_dir, "status")
        assert listed.returncode == 0, listed.stderr
        assert "no runs yet" in listed.stdout

        submitted = devhost(
            capsys, data_dir, "submit", str(ROOT / "examples/bad/invalid_json.jsonl"), "--family", "bad"
        )
        assert submitted.returncode == 0, submitted.stderr
        run_id = submitted.stdout.split("run id: ", 1)[1].split()[0]

        def ended() -> dict[str, object] | None:
            response = httpx.get(f"{connections.http}/api/runs/{run_id}", timeout=30)
            run = response.json() if response.status_code == 200 else {}
            return run if run.get("runtimeStatus") in {"Completed", "Failed", "Terminated"} else None

        eventually(ended, f"run {run_id} to end", timeout_s=300)
        shown = devhost(capsys, data_dir, "status", run_id, "--json")
        assert shown.returncode == 0, shown.stderr
        run = json.loads(shown.stdout)
        assert run["state"] == "rejected", run
        assert run["family"] == "bad"

        refused = devhost(capsys, data_dir, "cancel", run_id)
        assert refused.returncode == 1
        assert "already ended" in refused.stderr
        missing = devhost(capsys, data_dir, "status", "ft-nothing-000000000000")
        assert missing.returncode == 1
    finally:
        code = up.stop()
    assert code == 0, up.output()
    after = devhost(capsys, data_dir, "status")
    assert after.returncode == 1
    assert "the devhost is not running: start it with `python -m devhost up`" in after.stderr
