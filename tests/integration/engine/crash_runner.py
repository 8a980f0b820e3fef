"""An engine process for the crash tests.

`python -m tests.integration.engine.crash_runner STORE start ORCHESTRATOR INPUT` starts instance `crash-1`;
`... STORE resume` only runs the engine. Either runs on the real clock until the instance finishes and
prints its status as the last line. The tests kill this process with SIGKILL and start it again.
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
            engine.start_new(sys.argv[3], instance_id=INSTANCE_ID, input=json.loads(sys.argv[4]))
        status = engine.run_until_complete(INSTANCE_ID, timeout_s=120)
        print(status.model_dump_json(), flush=True)
    finally:
        engine.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
