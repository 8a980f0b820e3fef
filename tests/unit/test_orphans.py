from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from devhost.orphans import CHILDREN_FILE_NAME, ChildRegistry


def sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])


def test_a_recorded_child_still_alive_is_ended_and_forgotten(tmp_path: Path) -> None:
    child = sleeper()
    try:
        ChildRegistry(tmp_path).add("server", child.pid)
        ended = ChildRegistry(tmp_path).end_orphans()
        assert [record.pid for record in ended] == [child.pid]
        assert child.wait(timeout=60) is not None
        assert json.loads((tmp_path / CHILDREN_FILE_NAME).read_text()) == []
    finally:
        child.kill()
        child.wait()


def test_a_pid_now_used_by_another_process_is_left_alone(tmp_path: Path) -> None:
    child = sleeper()
    try:
        registry = ChildRegistry(tmp_path)
        registry.add("server", child.pid)
        records = json.loads((tmp_path / CHILDREN_FILE_NAME).read_text())
        records[0]["create_time"] -= 3600  # as if the recorded process had died and its pid been reused
        (tmp_path / CHILDREN_FILE_NAME).write_text(json.dumps(records))
        assert registry.end_orphans() == []
        assert child.poll() is None
    finally:
        child.kill()
        child.wait()


def test_removed_children_and_a_missing_or_broken_file_end_nothing(tmp_path: Path) -> None:
    registry = ChildRegistry(tmp_path)
    assert registry.end_orphans() == []
    child = sleeper()
    try:
        registry.add("server", child.pid)
        registry.remove(child.pid)
        assert registry.end_orphans() == []
        (tmp_path / CHILDREN_FILE_NAME).write_text("not json")
        assert registry.end_orphans() == []
        assert child.poll() is None
    finally:
        child.kill()
        child.wait()
