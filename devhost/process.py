"""`python -m devhost up` as a child process that can be killed with SIGKILL and started again.

For the reliability suite and its benchmark: each start waits until the devhost announces itself in
`<data_dir>/connections.json` and returns its addresses; the same data directory carries every run across
restarts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

import psutil

from devhost.connections import DevhostConnections, connections_path, read_connections
from devhost.orphans import ChildRegistry
from shared.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
READY_TIMEOUT_S = 180.0
STORAGE_CHILD = "azurite"


class DevhostProcess:
    """One data directory, run by successive `devhost up` processes (never two at once)."""

    def __init__(
        self,
        data_dir: Path,
        *,
        app_ref: str = "function_app:app",
        env: Mapping[str, str] | None = None,
        extra_args: Sequence[str] = ("--virtual-clock", "--no-timers", "--poll-interval", "0.5"),
    ) -> None:
        self.data_dir = data_dir
        self.app_ref = app_ref
        self.env = {**os.environ, **(env or {})}
        self.extra_args = tuple(extra_args)
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0

    @property
    def log_path(self) -> Path:
        """Where the children's console output goes (appended across restarts)."""
        return self.data_dir / "devhost-console.log"

    def start(self, timeout_s: float = READY_TIMEOUT_S) -> DevhostConnections:
        """Start `devhost up` on this data directory and wait until it is ready; its addresses."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("this devhost is still running")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # A killed devhost leaves its file behind: never read the dead one's addresses.
        connections_path(self.data_dir).unlink(missing_ok=True)
        command = [sys.executable, "-m", "devhost", "up", "--data-dir", str(self.data_dir), "--http-port", "0"]
        command += ["--dashboard-port", "0", "--app", self.app_ref, *self.extra_args]
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start {self.starts + 1}: {' '.join(command)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.starts += 1
        deadline = time.monotonic() + timeout_s
        path = connections_path(self.data_dir)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ConfigurationError(
                    f"devhost up exited with {self.process.returncode} before it was ready; see {self.log_path}"
                )
            if path.exists():
                return read_connections(path)
            time.sleep(0.1)
        self.kill()
        raise TimeoutError(f"devhost up was not ready within {timeout_s:g} s; see {self.log_path}")

    def kill(self) -> None:
        """Crash the devhost at this instant (see `crash_devhost`)."""
        if self.process is None or self.process.poll() is not None:
            return
        crash_devhost(self.process, self.data_dir)
        self.kills += 1

    def stop(self, timeout_s: float = 60.0) -> None:
        """Stop the devhost cleanly (SIGTERM), or kill it if it does not stop in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> DevhostProcess:
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _value: BaseException | None, _traceback: TracebackType | None
    ) -> None:
        self.stop()


def crash_devhost(process: subprocess.Popen[bytes], data_dir: Path) -> None:
    """Crash the `devhost up` in `process` at this instant: freeze it (SIGSTOP), stop Azurite cleanly, SIGKILL it.

    The engine, host, broker and foundry in the devhost process die mid-work. Azurite stands in for Azure
    Storage, a separate service that never loses an acknowledged write, but it keeps blob metadata in
    memory and, killed with its parent, can lose or truncate its last save (README, Reliability): so it
    is stopped cleanly while the frozen devhost can do nothing more.
    """
    process.send_signal(signal.SIGSTOP)
    _stop_children(data_dir, STORAGE_CHILD)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    _wait_for_children(data_dir)


def _stop_children(data_dir: Path, name: str, timeout_s: float = 60.0) -> None:
    for child in ChildRegistry(data_dir).recorded():
        try:
            process = psutil.Process(child.pid)
            if child.name == name and abs(process.create_time() - child.create_time) <= 1:
                process.terminate()
                _wait_until_exited(process, timeout_s)
        except psutil.NoSuchProcess:
            continue


def _wait_for_children(data_dir: Path, timeout_s: float = 60.0) -> None:
    # The kernel sends the devhost's servers SIGTERM when it dies; let them finish saving before the next
    # start, whose orphan sweep would otherwise interrupt them with a second signal.
    for child in ChildRegistry(data_dir).recorded():
        try:
            process = psutil.Process(child.pid)
            if abs(process.create_time() - child.create_time) <= 1:
                process.wait(timeout_s)
        except (psutil.NoSuchProcess, psutil.TimeoutExpired):
            continue


def _wait_until_exited(process: psutil.Process, timeout_s: float) -> None:
    """Wait until `process` has exited: gone, or a zombie its (here frozen) parent has not reaped yet."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.05)
