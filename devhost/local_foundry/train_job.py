"""`python -m devhost.local_foundry.train_job JOB_DIR`: one training job's process.

Reads `JOB_DIR/spec.json`, reports progress in `JOB_DIR/progress.json`, writes the checkpoints under
`JOB_DIR/output/`; on failure writes a one-line reason to `JOB_DIR/error.txt` and exits 1.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

from devhost.local_foundry.chat_data import DatasetError
from devhost.local_foundry.job_files import JobFiles, TrainingSpec, write_atomic
from devhost.local_foundry.training import InjectedFaultError, run_training


def _exit_with_parent(parent: int) -> None:
    """A job outlives no foundry: when the foundry's process is gone, the job ends too."""
    while os.getppid() == parent:
        threading.Event().wait(1.0)
    os._exit(3)


def main(argv: list[str]) -> int:
    """Run the job in the folder given as the only argument; returns the exit code."""
    if len(argv) != 1:
        print("usage: python -m devhost.local_foundry.train_job JOB_DIR", file=sys.stderr)
        return 2
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    files = JobFiles(Path(argv[0]))
    try:
        spec = TrainingSpec.model_validate_json(files.spec.read_bytes())
        run_training(spec, files, files.write_progress)
    except (DatasetError, InjectedFaultError) as error:
        write_atomic(files.error, str(error))
        return 1
    except Exception as error:
        write_atomic(files.error, f"training crashed: {type(error).__name__}: {error}")
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
