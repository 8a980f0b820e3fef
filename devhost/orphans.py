"""Child processes of a devhost that died without stopping them (kill -9), found and ended at the next start.

Server children (Azurite) run in sessions of their own, so they outlive a killed parent. Each one is
recorded in `<data_dir>/children.json` with its start time; the next devhost on that data directory ends
those still alive (the start time guards against a recycled pid) before starting its own.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import psutil
from pydantic import BaseModel, TypeAdapter

log = logging.getLogger(__name__)

CHILDREN_FILE_NAME = "children.json"


class ChildRecord(BaseModel):
    """One child server process of a devhost."""

    name: str
    pid: int
    create_time: float


_RECORDS = TypeAdapter(list[ChildRecord])


class ChildRegistry:
    """The devhost's record of its long-running children, kept in the data directory."""

    def __init__(self, data_dir: Path) -> None:
        self._path = data_dir / CHILDREN_FILE_NAME
        self._lock = threading.Lock()

    def _read(self) -> list[ChildRecord]:
        try:
            return _RECORDS.validate_json(self._path.read_bytes())
        except FileNotFoundError:
            return []
        except ValueError:
            log.warning("%s is unreadable; ignoring it", self._path)
            return []

    def _write(self, records: list[ChildRecord]) -> None:
        temp = self._path.with_suffix(".tmp")
        temp.write_text(json.dumps([r.model_dump() for r in records]))
        temp.replace(self._path)

    def recorded(self) -> list[ChildRecord]:
        """The children recorded now (alive or not)."""
        with self._lock:
            return self._read()

    def add(self, name: str, pid: int) -> None:
        """Record a started child."""
        with self._lock:
            try:
                create_time = psutil.Process(pid).create_time()
            except psutil.NoSuchProcess:
                return
            self._write([*self._read(), ChildRecord(name=name, pid=pid, create_time=create_time)])

    def remove(self, pid: int) -> None:
        """Forget a child that was stopped."""
        with self._lock:
            self._write([r for r in self._read() if r.pid != pid])

    def end_orphans(self, timeout_s: float = 15.0) -> list[ChildRecord]:
        """End the recorded children still alive (left by a devhost that was killed); returns them."""
        with self._lock:
            ended: list[ChildRecord] = []
            for record in self._read():
                try:
                    process = psutil.Process(record.pid)
                    if abs(process.create_time() - record.create_time) > 1:
                        continue
                    log.warning(
                        "ending %s (pid %d) left by a devhost that did not stop cleanly", record.name, record.pid
                    )
                    process.terminate()
                    try:
                        process.wait(timeout_s)
                    except psutil.TimeoutExpired:
                        process.kill()
                        process.wait(timeout_s)
                    ended.append(record)
                except psutil.NoSuchProcess:
                    continue
            self._write([])
            return ended
