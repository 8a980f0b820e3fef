"""`python -m devhost foundry` serves the local foundry until it is stopped."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration


def test_the_foundry_command_serves_until_terminated(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "devhost", "foundry", "--port", "0", "--data-dir", str(tmp_path / "f")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        assert found, line
        assert httpx.get(f"{found.group(1)}/api/health", timeout=30).json() == {"status": "ok"}
        assert (tmp_path / "f" / "registry.sqlite3").is_file()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0


def test_a_bad_port_is_a_usage_error() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "devhost", "foundry", "--port", "70000"], capture_output=True, text=True, check=False
    )
    assert finished.returncode == 2
    assert "--port 70000: must be between 0 and 65535" in finished.stderr
