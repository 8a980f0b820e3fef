"""`python -m benchmarks reliability`: kills in every stage, 500 bad files at once, 50 good uploads at once.

Everything runs on real `devhost up` processes (Azurite, the broker, the engine, the blob poller) with the
app's real code. The kills run three runs on the on-disk fake backend of `tests.fakes.reliability_app` (so that
a killed devhost's jobs and deployments are still counted after restart), then one run on the local foundry
(real CPU training, its registry counted); the floods run on the fake backend with transient faults on. The
baseline is one fake-backend run left alone, measured in the same process: `recovery_overhead_s` is what the
kills cost the three killed runs.
"""

from __future__ import annotations

import tempfile
import time
from functools import partial
from pathlib import Path

from benchmarks.result import BenchmarkResult, Target
from devhost.process import DevhostProcess
from tests.reliability.bad_files import bad_file
from tests.reliability.scenarios import (
    APP_REF,
    KILL_PAUSE_S,
    KILL_STAGES,
    devhost_env,
    fake_backend_counts,
    flood,
    kill_in_every_stage,
    tally,
    upload,
)
from tests.unit.pipeline.conftest import chat_dataset

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "xbox-support.jsonl"
KILLED_RUNS = 3
BAD_FILES = 500
GOOD_UPLOADS = 50


def _baseline_run_s(scratch: Path) -> float:
    """Wall seconds of one run with the same pauses and no kills (devhost start excluded)."""
    state = scratch / "baseline-backend.pickle"
    with DevhostProcess(scratch / "baseline", app_ref=APP_REF, env=devhost_env(state, KILL_PAUSE_S)) as host:
        connections = host.start()
        started = time.perf_counter()
        run_ids = upload(connections, [("baseline/run.jsonl", chat_dataset(24))])
        result = tally(connections, run_ids, partial(fake_backend_counts, state))
        elapsed = time.perf_counter() - started
    if result.problems():
        raise RuntimeError(f"the baseline run went wrong: {result.problems()}")
    return elapsed


def run() -> BenchmarkResult:
    """Measure the reliability figures of issue 8."""
    with tempfile.TemporaryDirectory(prefix="bench-reliability-") as name:
        scratch = Path(name)
        baseline_s = _baseline_run_s(scratch)
        uploads = [(f"family{n}/killed.jsonl", chat_dataset(20 + n)) for n in range(KILLED_RUNS)]
        started = time.perf_counter()
        killed = kill_in_every_stage(scratch / "kills", uploads)
        killed_s = time.perf_counter() - started
        local = kill_in_every_stage(
            scratch / "kills-local", [("xbox/local.jsonl", EXAMPLES.read_bytes())], local_foundry=True
        )
        state = scratch / "flood-backend.pickle"
        # Transient backend faults on: every distinct backend call fails once first (429, 503, time-out).
        with DevhostProcess(scratch / "flood", app_ref=APP_REF, env=devhost_env(state, 0, backend_faults="1")) as host:
            connections = host.start()
            bad = [
                (f"bad/{n:03d}-{kind}.jsonl", data, "rejected") for n, (kind, data) in map(_indexed, range(BAD_FILES))
            ]
            started = time.perf_counter()
            bad_result = flood(connections, bad)
            bad_s = time.perf_counter() - started
            good = [
                (f"team{n % 10}/good-{n:02d}.jsonl", chat_dataset(20 + n % 7), "succeeded") for n in range(GOOD_UPLOADS)
            ]
            started = time.perf_counter()
            good_result = flood(connections, good)
            good_s = time.perf_counter() - started
            faults_injected = host.log_path.read_text(encoding="utf-8", errors="replace").count("injecting a ")
    figures: dict[str, float | int | str] = {
        "kills": killed.kills + local.kills,
        "stages_killed": ",".join(killed.stages_killed),
        "runs_started": len(killed.run_ids) + len(local.run_ids),
        "runs_completed": killed.runs_completed + local.runs_completed,
        "duplicates": killed.duplicates + local.duplicates,
        "lost_events": killed.lost_events + local.lost_events,
        "kill_problems": "; ".join(killed.problems() + local.problems()) or "none",
        "local_foundry_kills": local.kills,
        "local_foundry_jobs": sum(local.jobs_per_run.values()),
        "local_foundry_deployments": sum(local.deployments_per_run.values()),
        "baseline_run_s": round(baseline_s, 1),
        "killed_runs_s": round(killed_s, 1),
        "recovery_overhead_s": round(killed_s - baseline_s, 1),
        "bad_files": BAD_FILES,
        "bad_files_accounted": bad_result.accounted,
        "bad_files_s": round(bad_s, 1),
        "good_uploads": GOOD_UPLOADS,
        "good_uploads_succeeded": sum(outcome == "succeeded" for outcome in good_result.outcomes.values()),
        "good_uploads_accounted": good_result.accounted,
        "good_uploads_s": round(good_s, 1),
        "backend_faults_injected": faults_injected,
        "flood_duplicate_events": _duplicates([event.id for event in bad_result.events + good_result.events]),
    }
    return BenchmarkResult(
        figures,
        [
            Target("kills", ">=", len(KILL_STAGES)),
            Target("runs_completed", "==", len(uploads) + 1),
            Target("local_foundry_kills", ">=", len(KILL_STAGES)),
            Target("duplicates", "==", 0),
            Target("lost_events", "==", 0),
            Target("bad_files_accounted", "==", BAD_FILES),
            Target("good_uploads_succeeded", "==", GOOD_UPLOADS),
            Target("flood_duplicate_events", "==", 0),
            Target("backend_faults_injected", ">=", GOOD_UPLOADS),
        ],
    )


def _indexed(number: int) -> tuple[int, tuple[str, bytes]]:
    return number, bad_file(number)


def _duplicates(ids: list[str]) -> int:
    return len(ids) - len(set(ids))
