"""`FakeBackend` whose state lives in a file, so it survives the devhost being killed with SIGKILL.

Every call loads the state, runs `FakeBackend`'s method and saves the state again, under an exclusive file
lock: jobs, deployments and models that a killed process created are still there after a restart, and
tests count them from the file.
"""

from __future__ import annotations

import fcntl
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.fakes.backend import FakeBackend

_NOT_STATE = {"_lock"}
# Where `tests.fakes.reliability_app` keeps its backend state.
STATE_ENV = "RELIABILITY_BACKEND_STATE"


def load_backend(path: Path) -> FakeBackend:
    """The backend as the file holds it (a fresh one when there is no file yet)."""
    if not path.exists() or path.stat().st_size == 0:
        return FakeBackend()
    state = pickle.loads(path.read_bytes())  # noqa: S301 - a file this module wrote, in a test's own directory
    return FakeBackend(**state)


def _save(backend: FakeBackend, path: Path) -> None:
    state = {key: value for key, value in vars(backend).items() if key not in _NOT_STATE}
    scratch = path.with_suffix(".tmp")
    scratch.write_bytes(pickle.dumps(state))
    os.replace(scratch, path)


class PersistentFakeBackend:
    """Implements `FineTuningBackend` by delegating each call to a `FakeBackend` loaded from `path`."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock_path = path.with_suffix(".lock")
        path.parent.mkdir(parents=True, exist_ok=True)

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("_"):
            raise AttributeError(attribute)
        if not callable(getattr(FakeBackend, attribute, None)):
            raise AttributeError(attribute)

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock_path.open("a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                backend = load_backend(self._path)
                method: Callable[..., Any] = getattr(backend, attribute)
                result = method(*args, **kwargs)
                _save(backend, self._path)
                return result

        return call
