"""One trace per run: the starter's span, every activity, every Service Bus send and every backend call."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections import defaultdict
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[3]

RUN_ONE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from shared.foundry.traced import traced
    from shared.settings import Settings
    from shared.telemetry import configure_telemetry
    from devhost.engine import VirtualClock
    from tests.unit.pipeline.conftest import chat_dataset, close_world, make_world

    settings = Settings(poll_initial_seconds=60, polls_per_generation=5, smoke_sample_size=2)
    configure_telemetry(settings, file_dir=Path(sys.argv[1]))
    world = make_world(VirtualClock(), settings)
    world.services.backend = traced(world.backend)
    status = world.run("xbox/traced.jsonl", chat_dataset())
    close_world(world)
    print(status.instance_id, status.output["outcome"])
    from opentelemetry import trace
    trace.get_tracer_provider().shutdown()
    """
)


def test_a_run_is_one_trace_joining_starter_activities_sends_and_backend_calls(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", RUN_ONE, str(tmp_path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    run_id, outcome = done.stdout.split()[-2:]
    assert outcome == "succeeded"
    spans = [json.loads(line) for line in (tmp_path / "spans.jsonl").read_text().splitlines()]
    by_trace: dict[str, list[str]] = defaultdict(list)
    for exported in spans:
        by_trace[exported["context"]["trace_id"]].append(exported["name"])
    [run_trace] = [names for names in by_trace.values() if "start run" in names]
    assert "activity validate_training_file" in run_trace
    assert "activity get_status" in run_trace, sorted(set(run_trace))  # inside the monitor sub-orchestration
    assert "activity write_run_report" in run_trace
    assert run_trace.count("servicebus send") >= 10
    assert "foundry submit_job" in run_trace
    activity_spans = [s for s in spans if s["name"].startswith("activity ")]
    assert {s["attributes"].get("run.id") for s in activity_spans} == {run_id}
