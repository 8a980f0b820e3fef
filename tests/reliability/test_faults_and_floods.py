"""Transient backend faults, a flood of bad files and concurrent good uploads, on the engine with fakes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import orjson

from devhost.engine import RuntimeStatus
from shared.foundry.faults import FaultInjectingBackend
from shared.foundry.port import FineTuningBackend
from shared.names import REPORTS_CONTAINER, TRAINING_CONTAINER
from tests.reliability.bad_files import bad_file
from tests.unit.pipeline.conftest import World, chat_dataset
from tests.unit.pipeline.test_scenarios import HAPPY_EVENTS

TASK_FAILED = 6


def _all_histories(world: World) -> list[dict[str, object]]:
    return [event for status in world.engine.query() for event in world.engine.get_history(status.instance_id)]


def test_transient_backend_faults_are_retried_and_the_run_completes(world: World) -> None:
    faulty = FaultInjectingBackend(world.backend, faults_per_call=1)
    world.services.backend = faulty  # type: ignore[assignment]
    status = world.run("xbox/flaky-backend.jsonl")
    assert status.output["outcome"] == "succeeded", status.output
    assert set(faulty.injected) == {"429", "503", "timeout"}, faulty.injected
    failures = [str(event.get("Reason")) for event in _all_histories(world) if event["EventType"] == TASK_FAILED]
    assert any("injected fault" in reason for reason in failures), failures
    assert world.publisher.types(status.instance_id) == HAPPY_EVENTS
    assert len(world.backend.jobs) == 1
    assert world.backend.create_deployment_calls == 1
    assert len(world.backend.deployments) == 1


def test_faults_beyond_the_retry_budget_fail_the_run_with_a_reason_and_compensate(world: World) -> None:
    backend: FineTuningBackend = FaultInjectingBackend(world.backend, faults_per_call=10)  # type: ignore[assignment]
    world.services.backend = backend
    status = world.run("xbox/down-backend.jsonl")
    assert status.runtime_status is RuntimeStatus.COMPLETED, status.failure
    assert status.output["outcome"] == "failed"
    assert "injected fault" in status.output["reason"]
    assert world.publisher.types(status.instance_id)[-1] == "finetune.run.failed"
    assert world.store.get_tags(TRAINING_CONTAINER, "xbox/down-backend.jsonl")["ft_status"] == "failed"
    assert world.backend.jobs == {}


def test_a_flood_of_bad_files_is_each_rejected_with_a_report_an_event_and_a_tag(world: World) -> None:
    uploads = {}
    for index in range(40):
        kind, data = bad_file(index)
        name = f"flood/{index:03d}-{kind}.jsonl"
        world.upload(name, data)
        uploads[name] = kind
    with ThreadPoolExecutor(max_workers=8) as pool:
        started = list(pool.map(world.start, uploads))
    run_ids = {name: result.run_id for name, result in zip(uploads, started, strict=True)}
    assert all(run_ids.values()), started
    world.engine.run_until_idle(timeout_s=240)
    for name, run_id in run_ids.items():
        assert run_id is not None
        status = world.engine.get_status(run_id)
        assert status is not None, name
        assert status.runtime_status is RuntimeStatus.COMPLETED, (name, status)
        assert status.output["outcome"] == "rejected", (name, uploads[name], status.output)
        assert world.store.get_tags(TRAINING_CONTAINER, name) == {"ft_run_id": run_id, "ft_status": "rejected"}
        types = world.publisher.types(run_id)
        assert types[0] == "finetune.run.accepted", (name, types)
        assert types[-1] == "finetune.run.rejected", (name, types)
        assert len(types) == len(set(types)), types
        report_name = "validation-report.json" if "finetune.validation.failed" in types else "summary.json"
        report = orjson.loads(world.store.read_bytes(REPORTS_CONTAINER, f"runs/{run_id}/{report_name}")[0])
        assert report, name
    assert world.backend.jobs == {}
    assert world.engine.query(runtime_status=[RuntimeStatus.FAILED]) == []


def test_concurrent_good_uploads_all_succeed_with_one_job_and_one_deployment_each(world: World) -> None:
    names = [f"family{n % 3}/good-{n:02d}.jsonl" for n in range(9)]
    for n, name in enumerate(names):
        world.upload(name, chat_dataset(20 + n))
    with ThreadPoolExecutor(max_workers=9) as pool:
        started = list(pool.map(world.start, names))
    run_ids = [result.run_id for result in started]
    world.engine.run_until_idle(timeout_s=240)
    for run_id in run_ids:
        assert run_id is not None
        status = world.engine.get_status(run_id)
        assert status is not None, run_id
        assert status.output["outcome"] == "succeeded", status
        assert world.publisher.types(run_id) == HAPPY_EVENTS
    assert sorted(job.request.run_id for job in world.backend.jobs.values()) == sorted(run_ids)
    assert world.backend.create_deployment_calls == len(names)
