from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devhost.azurite import start_azurite
from shared.storage import AzureBlobStore

pytestmark = pytest.mark.integration

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_blobs_persist_in_the_data_dir_across_a_restart(tmp_path: Path) -> None:
    with start_azurite(tmp_path / "azurite") as first:
        store = AzureBlobStore(connection_string=first.connection_string)
        store.ensure_container("training-data")
        etag = store.upload("training-data", "kept.jsonl", b"{}\n")
        store.close()
    assert first.process.returncode is not None
    with start_azurite(tmp_path / "azurite") as second:
        store = AzureBlobStore(connection_string=second.connection_string)
        assert store.read_bytes("training-data", "kept.jsonl") == (b"{}\n", etag)
        store.close()
    assert (tmp_path / "azurite" / "azurite.log").exists()


def test_azurite_started_to_stop_with_its_parent_dies_when_the_parent_is_killed(tmp_path: Path) -> None:
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from devhost.azurite import start_azurite\n"
        f"server = start_azurite(Path({str(tmp_path)!r}), in_memory=True, stop_with_parent=True)\n"
        "print(server.process.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    azurite_pid = int(parent.stdout.readline())
    parent.kill()
    parent.wait(timeout=60)
    deadline = time.monotonic() + 60
    while _alive(azurite_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(azurite_pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        return stat.read().split(") ")[-1][0] != "Z"
