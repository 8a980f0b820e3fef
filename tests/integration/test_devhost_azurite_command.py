from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from shared.storage import AzureBlobStore

pytestmark = pytest.mark.integration

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_the_command_prints_a_working_connection_string_and_stops_on_sigterm(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "devhost", "azurite", "--port", "0", "--data-dir", str(tmp_path / "azurite")],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        connection_string = process.stdout.readline().strip()
        assert banner.startswith("Azurite blob service listening on http://127.0.0.1:")
        store = AzureBlobStore(connection_string=connection_string)
        store.ensure_container("training-data")
        store.upload("training-data", "a.jsonl", b"{}\n")
        assert [b.name for b in store.list_blobs("training-data")] == ["a.jsonl"]
        store.close()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
