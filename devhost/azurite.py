"""Azurite, the Blob Storage emulator, started and stopped by the devhost and the test session.

Azurite (npm, pinned in package.json, installed by `make setup`) runs as a child process on 127.0.0.1
on a port the OS picks (`--blobPort 0`); the port is read back from its start-up line, so two
instances never race for a port. Only the blob service runs: the devhost needs no queues or tables.

API versions: `azure-storage-blob` 12.31 sends 2026-10-06, newer than Azurite 3.35 knows. The
service's client is pinned to `Settings.storage_api_version` (2025-11-05, accepted by Azurite and
Azure alike), so the pin alone suffices; Azurite still gets `--skipApiVersionCheck` so that other
tools (Storage Explorer, an unpinned script) work against the devhost too.
"""

from __future__ import annotations

import ctypes
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from devhost.connections import DEFAULT_DATA_DIR
from shared.errors import ConfigurationError, OrchestratorError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
AZURITE_BLOB_BIN = PROJECT_ROOT / "node_modules" / ".bin" / "azurite-blob"
DEFAULT_AZURITE_DIR = DEFAULT_DATA_DIR / "azurite"
HOST = "127.0.0.1"
ACCOUNT_NAME = "devstoreaccount1"
# Azurite's well-known development key, published in its README; it guards nothing but local emulators.
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
LOG_FILE_NAME = "azurite.log"
_LISTENING = re.compile(r"Blob service successfully listens on http://[^:\s]+:(\d+)")


class AzuriteError(OrchestratorError):
    """Azurite could not be started or did not become ready."""


def connection_string(blob_port: int, host: str = HOST) -> str:
    """The connection string of the well-known `devstoreaccount1` account on a local Azurite."""
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};"
        f"BlobEndpoint=http://{host}:{blob_port}/{ACCOUNT_NAME};"
    )


@dataclass
class AzuriteServer:
    """A running Azurite blob service; `stop()` ends it (also usable as a context manager)."""

    process: subprocess.Popen[bytes]
    blob_port: int
    data_dir: Path
    log_path: Path
    _stopped: bool = field(default=False, repr=False)

    @property
    def blob_endpoint(self) -> str:
        """The blob service URL of the development account."""
        return f"http://{HOST}:{self.blob_port}/{ACCOUNT_NAME}"

    @property
    def connection_string(self) -> str:
        """The connection string of the development account on this instance."""
        return connection_string(self.blob_port)

    def stop(self, timeout_s: float = 15.0) -> None:
        """Ask Azurite to close (SIGTERM), wait for it, and kill it if it does not exit in time."""
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout_s)

    def __enter__(self) -> AzuriteServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def azurite_command(
    data_dir: Path, *, in_memory: bool = False, skip_api_version_check: bool = True, blob_port: int = 0
) -> list[str]:
    """The command line that starts Azurite's blob service on loopback with the devhost's flags."""
    command = [str(AZURITE_BLOB_BIN), "--silent", "--disableTelemetry", "--loose"]
    if skip_api_version_check:
        command.append("--skipApiVersionCheck")
    command += ["--blobHost", HOST, "--blobPort", str(blob_port)]
    # --location and --inMemoryPersistence exclude each other; in memory, cap what Azurite may claim.
    command += ["--inMemoryPersistence", "--extentMemoryLimit", "256"] if in_memory else ["--location", str(data_dir)]
    return command


def check_azurite_installed() -> None:
    """Raise `ConfigurationError` saying what to do when Node.js or the Azurite package is missing."""
    if shutil.which("node") is None:
        raise ConfigurationError(
            "Node.js is not on PATH: Azurite (the Blob Storage emulator) needs Node.js 20; "
            "install it, then run `make setup`"
        )
    if not AZURITE_BLOB_BIN.exists():
        raise ConfigurationError(f"{AZURITE_BLOB_BIN} is missing: run `make setup` (it runs `npm ci`)")


def start_azurite(
    data_dir: Path = DEFAULT_AZURITE_DIR,
    *,
    in_memory: bool = False,
    skip_api_version_check: bool = True,
    blob_port: int = 0,
    stop_with_parent: bool = False,
    ready_timeout_s: float = 60.0,
) -> AzuriteServer:
    """Start Azurite's blob service on 127.0.0.1 and return once it accepts requests.

    `blob_port` 0 (the default) lets the OS pick a free port; the chosen one is read from Azurite's output.

    Data lives under `data_dir` unless `in_memory`; Azurite's own output goes to `data_dir/azurite.log`.
    `stop_with_parent` (Linux) makes the kernel end Azurite if the thread that started it dies, even by
    SIGKILL: for test sessions, which must leave nothing running behind.
    """
    check_azurite_installed()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / LOG_FILE_NAME
    command = azurite_command(
        data_dir, in_memory=in_memory, skip_api_version_check=skip_api_version_check, blob_port=blob_port
    )
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent() if stop_with_parent else None,  # noqa: PLW1509 -- only prctl, no locks
        )
    try:
        port = _wait_for_port(process, log_path, ready_timeout_s)
    except BaseException:
        process.kill()
        process.wait()
        raise
    return AzuriteServer(process=process, blob_port=port, data_dir=data_dir, log_path=log_path)


def _die_with_parent() -> Callable[[], None] | None:
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1

    def set_death_signal() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)

    return set_death_signal


def _wait_for_port(process: subprocess.Popen[bytes], log_path: Path, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    while True:
        output = log_path.read_text(encoding="utf-8", errors="replace")
        match = _LISTENING.search(output)
        if match:
            return int(match.group(1))
        if process.poll() is not None:
            raise AzuriteError(f"Azurite exited with code {process.returncode} before listening: {output.strip()}")
        if time.monotonic() > deadline:
            raise AzuriteError(f"Azurite did not listen within {timeout_s:.0f} s (its output is in {log_path})")
        time.sleep(0.05)
