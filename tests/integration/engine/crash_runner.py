"""An engine process for the crash tests: `python -m tests.integration.engine.crash_runner STORE start|resume [INPUT]`.

Runs the `crash_workflow` instance `crash-1` on the real clock until it finishes and prints its status as
the last line. The tests kill this process with SIGKILL and start it again on the same store.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from devhost.engine import Engine, RealClock
from tests.fixtures.engine_app import app

INSTANCE_ID = "crash-1"


def main() -> int:
    store, mode = Path(sys.argv[1]), sys.argv[2]
    engine = Engine(app, store_path=store, clock=RealClock(), activity_workers=2)
    try:
        if mode == "start":
            engine.start_new("crash_workflow", instance_id=INSTANCE_ID, input=json.loads(sys.argv[3]))
        status = engine.run_until_complete(INSTANCE_ID, timeout_s=120)
        print(status.model_dump_json(), flush=True)
    finally:
        engine.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
