"""Kill, restart and flood scenarios on a real `devhost up` process: shared by the tests and the benchmark.

The devhost runs `tests.fakes.reliability_app` (the real app; a fake backend kept on disk, so what a killed
process created is still counted after restart) with the virtual clock. Each stage's activity pauses after
its work (`FAULT_PAUSE_AFTER_ACTIVITIES`), so a SIGKILL lands between the work and its recorded result.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import psutil
from azure.storage.blob import BlobServiceClient

from devhost.connections import DevhostConnections
from devhost.follow import collect_events, wait_for_runs
from devhost.process import DevhostProcess
from orchestrations import names
from shared.events import CloudEvent
from shared.foundry.port import JobState
from shared.names import BLOB_RUN_ID_TAG, BLOB_STATUS_TAG, REPORTS_CONTAINER, RUN_ID_TAG, TRAINING_CONTAINER
from shared.runs import run_id_for
from tests.fakes.persistent_backend import STATE_ENV, load_backend

APP_REF = "tests.fakes.reliability_app:app"
# The stage a run is in while each activity pauses after its work.
KILL_STAGES: dict[str, str] = {
    "validating": names.VALIDATE,
    "training": names.SUBMIT,
    "deploying": names.DEPLOY,
    "smoke_testing": names.SMOKE_TEST,
    "promoting": names.PROMOTE,
    "cleaning_up": names.CLEAN_UP,
}
REQUIRED_EVENTS = (
    "finetune.run.accepted",
    "finetune.validation.succeeded",
    "finetune.preparation.succeeded",
    "finetune.training.submitted",
    "finetune.training.succeeded",
    "finetune.deployment.succeeded",
    "finetune.smoketest.passed",
    "finetune.promotion.succeeded",
    "finetune.cleanup.succeeded",
    "finetune.run.succeeded",
)
RUN_TIMEOUT_S = 600.0
AZURITE_AUTOSAVE_S = 5.0
# Each stage's activity pauses longer than Azurite's metadata autosave before the kill: Azurite can lose the
# writes of its last seconds when the devhost dies (README, Reliability), which Azure Storage never does.
KILL_PAUSE_S = AZURITE_AUTOSAVE_S + 1


def devhost_env(state_path: Path, pause_s: float, **settings: str) -> dict[str, str]:
    """Environment of the devhost under test: the on-disk backend, the pauses, small smoke tests."""
    return {
        STATE_ENV: str(state_path),
        "FAULT_PAUSE_AFTER_ACTIVITIES": json.dumps(dict.fromkeys(KILL_STAGES.values(), pause_s)),
        "SMOKE_SAMPLE_SIZE": "2",
        "POLLS_PER_GENERATION": "5",
        **{key.upper(): value for key, value in settings.items()},
    }


def upload(connections: DevhostConnections, uploads: Iterable[tuple[str, bytes]]) -> list[str]:
    """Upload each `(name, data)` to `training-data`, as a user would; the run id of each."""
    service = BlobServiceClient.from_connection_string(connections.storage.get_secret_value())
    run_ids = []
    with service:
        for name, data in uploads:
            etag = service.get_blob_client(TRAINING_CONTAINER, name).upload_blob(data, overwrite=True)["etag"]
            run_ids.append(run_id_for(TRAINING_CONTAINER, name, etag))
    return run_ids


def wait_for_stage(http: str, run_id: str, stage: str, timeout_s: float = RUN_TIMEOUT_S) -> None:
    """Poll `GET /api/runs/{id}` until the run is in `stage`; fail if it ends first."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(base_url=http, timeout=30) as client:
        while time.monotonic() < deadline:
            reply = client.get(f"/api/runs/{run_id}")
            if reply.status_code == 200:
                view = reply.json()
                if view["stage"] == stage:
                    return
                if view["runtimeStatus"] in {"Completed", "Failed", "Terminated"}:
                    raise AssertionError(f"{run_id} ended ({view['stage']}) before reaching {stage}")
            time.sleep(0.05)
    raise TimeoutError(f"{run_id} did not reach {stage} within {timeout_s:g} s")


@dataclass
class Tally:
    """What an outside observer counts after the runs: outcomes, created resources, events."""

    run_ids: list[str]
    outcomes: dict[str, str]
    jobs_per_run: Counter[str]
    deployments_per_run: Counter[str]
    events: list[CloudEvent]
    kills: int = 0
    stages_killed: list[str] = field(default_factory=list)
    listening: list[str] = field(default_factory=list)
    storage_accounts: set[str] = field(default_factory=set)

    @property
    def runs_completed(self) -> int:
        """Runs that ended with the outcome `succeeded`."""
        return sum(outcome == "succeeded" for outcome in self.outcomes.values())

    @property
    def duplicates(self) -> int:
        """Jobs, deployments and event ids created more than once."""
        ids = Counter(event.id for event in self.events)
        return (
            sum(count - 1 for count in ids.values())
            + sum(max(count - 1, 0) for count in self.jobs_per_run.values())
            + sum(max(count - 1, 0) for count in self.deployments_per_run.values())
        )

    @property
    def lost_events(self) -> int:
        """Required events missing, plus gaps in each run's event sequence numbers."""
        lost = 0
        for run_id in self.run_ids:
            mine = [event for event in self.events if event.subject == run_id]
            types = {event.type.value for event in mine}
            lost += sum(required not in types for required in REQUIRED_EVENTS)
            sequences = {event.data.sequence for event in mine}
            lost += (max(sequences) - len(sequences)) if sequences else 0
        return lost

    def problems(self) -> list[str]:
        """Everything that is not exactly once, in words (empty when all is well)."""
        found = [f"{run_id}: {outcome}" for run_id, outcome in self.outcomes.items() if outcome != "succeeded"]
        found += [
            f"{run_id}: {self.jobs_per_run[run_id]} jobs" for run_id in self.run_ids if self.jobs_per_run[run_id] != 1
        ]
        found += [
            f"{run_id}: {self.deployments_per_run[run_id]} deployments"
            for run_id in self.run_ids
            if self.deployments_per_run[run_id] != 1
        ]
        seen = Counter(event.id for event in self.events)
        found += sorted(
            {f"event {e.type.value} of {e.subject} arrived {seen[e.id]} times" for e in self.events if seen[e.id] > 1}
        )
        if self.lost_events:
            found.append(f"{self.lost_events} lost events")
        return found


Counts = tuple[Counter[str], Counter[str]]


def fake_backend_counts(state_path: Path) -> Counts:
    """Jobs and deployments (deleted ones too) per run id, from the on-disk fake backend."""
    backend = load_backend(state_path)
    jobs = Counter(job.request.run_id for job in backend.jobs.values())
    deployment_runs = {d.name: d.tags.get(RUN_ID_TAG, "") for d in backend.deployments.values()}
    for name in backend.deleted:
        deployment_runs.setdefault(name, name)
    return jobs, Counter(deployment_runs.values())


def local_foundry_counts(devhost_dir: Path) -> Counts:
    """Jobs and deployments per run id, from the local foundry's registry under the devhost's data directory."""
    from devhost.local_foundry.registry import Registry  # noqa: PLC0415 - only the local-foundry scenario needs it

    registry = Registry(devhost_dir / "foundry" / "registry.sqlite3")
    try:
        jobs = Counter(job.request.run_id for job in registry.jobs_in(*JobState))
        deployments = Counter(record.tags.get(RUN_ID_TAG, "") for record in registry.deployments())
    finally:
        registry.close()
    return jobs, deployments


def tally(connections: DevhostConnections, run_ids: Sequence[str], counts: Callable[[], Counts]) -> Tally:
    """Wait for every run to end, then count outcomes, the backend's jobs and deployments, and the events."""
    ended = wait_for_runs(connections.http, run_ids, RUN_TIMEOUT_S, poll_s=0.5)
    outcomes = {run_id: _outcome(view) for run_id, view in ended.items()}
    events = collect_events(connections.servicebus.get_secret_value(), run_ids)
    jobs, deployments = counts()
    return Tally(list(run_ids), outcomes, jobs, deployments, events)


def listening_addresses(pid: int) -> list[str]:
    """Every `ip` a process or its children listen on (TCP), one entry per socket."""
    root = psutil.Process(pid)
    found = []
    for process in [root, *root.children(recursive=True)]:
        for connection in process.net_connections(kind="inet"):
            if connection.status == psutil.CONN_LISTEN:
                found.append(str(connection.laddr.ip))
    return found


def _outcome(view: dict[str, Any]) -> str:
    output = view.get("output")
    if isinstance(output, dict):
        return str(output.get("outcome"))
    return str(view.get("runtimeStatus"))


def kill_in_every_stage(
    data_dir: Path, uploads: Sequence[tuple[str, bytes]], pause_s: float = KILL_PAUSE_S, *, local_foundry: bool = False
) -> Tally:
    """Upload, then SIGKILL the devhost once in each stage of the first run and start it again; count.

    On the fake backend by default; with `local_foundry` the real app trains, deploys and serves on the
    devhost's local foundry, and its registry is counted.
    """
    state_path = data_dir / "fake-backend.pickle"
    devhost_dir = data_dir / "devhost"
    if local_foundry:
        # Real training takes real seconds: on the virtual clock the monitor's polls would skip past the deadline.
        # The tiny model's smoke quality varies from run to run; what is measured here is exactly-once, so any
        # answer passes.
        env = devhost_env(state_path, pause_s, poll_initial_seconds="1", poll_max_seconds="2", smoke_min_quality="0")
        devhost = DevhostProcess(devhost_dir, env=env, extra_args=("--no-timers", "--poll-interval", "0.5"))
    else:
        devhost = DevhostProcess(devhost_dir, app_ref=APP_REF, env=devhost_env(state_path, pause_s))
    try:
        connections = devhost.start()
        assert devhost.process is not None
        listening = listening_addresses(devhost.process.pid)
        run_ids = upload(connections, uploads)
        killed, accounts = [], {connections.storage.get_secret_value()}
        for stage in KILL_STAGES:
            wait_for_stage(connections.http, run_ids[0], stage)
            devhost.kill()
            killed.append(stage)
            connections = devhost.start()
            accounts.add(connections.storage.get_secret_value())
        counts = (
            partial(local_foundry_counts, devhost_dir) if local_foundry else partial(fake_backend_counts, state_path)
        )
        result = tally(connections, run_ids, counts)
    finally:
        devhost.stop()
    result.kills, result.stages_killed, result.listening = devhost.kills, killed, listening
    result.storage_accounts = accounts
    return result


@dataclass
class Accounting:
    """Where each upload of a flood ended up: tag, run outcome, report and events."""

    uploads: int
    run_ids: dict[str, str]
    outcomes: dict[str, str]
    unaccounted: dict[str, str]
    events: list[CloudEvent]

    @property
    def accounted(self) -> int:
        """Uploads with a tag, a run, a report and a final event, all agreeing."""
        return self.uploads - len(self.unaccounted)


def flood(connections: DevhostConnections, uploads: Sequence[tuple[str, bytes, str]], workers: int = 16) -> Accounting:
    """Upload every `(name, data, expected outcome)` at once, wait for every run, then account for each."""
    service = BlobServiceClient.from_connection_string(connections.storage.get_secret_value())
    with service, ThreadPoolExecutor(max_workers=workers) as pool:
        etags = list(
            pool.map(
                lambda item: service.get_blob_client(TRAINING_CONTAINER, item[0]).upload_blob(item[1], overwrite=True)[
                    "etag"
                ],
                uploads,
            )
        )
    run_ids = {
        name: run_id_for(TRAINING_CONTAINER, name, etag) for (name, _, _), etag in zip(uploads, etags, strict=True)
    }
    expectations = {name: expected for name, _, expected in uploads}
    ended = wait_for_runs(connections.http, run_ids.values(), RUN_TIMEOUT_S * 3, poll_s=2.0)
    events = collect_events(connections.servicebus.get_secret_value(), run_ids.values(), idle_s=10.0)
    unaccounted: dict[str, str] = {}
    with BlobServiceClient.from_connection_string(connections.storage.get_secret_value()) as service:
        for name, run_id in run_ids.items():
            expected = expectations[name]
            outcome = _outcome(ended[run_id])
            tags = service.get_blob_client(TRAINING_CONTAINER, name).get_blob_tags()
            reports = {
                blob.name for blob in service.get_container_client(REPORTS_CONTAINER).list_blobs(f"runs/{run_id}/")
            }
            types = {event.type.value for event in events if event.subject == run_id}
            if outcome != expected:
                unaccounted[name] = f"outcome {outcome}"
            elif tags != {BLOB_RUN_ID_TAG: run_id, BLOB_STATUS_TAG: expected}:
                unaccounted[name] = f"tags {tags}"
            elif f"runs/{run_id}/validation-report.json" not in reports:
                unaccounted[name] = f"reports {sorted(reports)}"
            elif f"finetune.run.{expected}" not in types:
                unaccounted[name] = f"events {sorted(types)}"
    outcomes = {run_id: _outcome(view) for run_id, view in ended.items()}
    return Accounting(len(uploads), run_ids, outcomes, unaccounted, events)
