"""The pipeline's scenarios on the devhost engine (virtual clock) with in-memory fakes of every port."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest

from devhost.engine import RuntimeStatus
from orchestrations import names
from shared.errors import InvalidOptionsError
from shared.foundry.port import DeploymentState, DeploymentStatus, ModelRef
from shared.models import JanitorInput
from shared.names import REPORTS_CONTAINER, STATE_CONTAINER, TRAINING_CONTAINER
from shared.runs import run_id_for
from tests.fakes.backend import FAKE_KEY_PREFIX
from tests.unit.pipeline.conftest import World, chat_dataset
from triggers.control import CommandConflictError, StartOutcome, UnknownRunError

HAPPY_EVENTS = [
    "finetune.run.accepted",
    "finetune.validation.succeeded",
    "finetune.preparation.succeeded",
    "finetune.training.submitted",
    "finetune.training.status_changed",
    "finetune.training.status_changed",
    "finetune.training.succeeded",
    "finetune.deployment.succeeded",
    "finetune.smoketest.passed",
    "finetune.promotion.succeeded",
    "finetune.cleanup.succeeded",
    "finetune.run.succeeded",
]


def test_happy_path_publishes_every_event_in_order_and_promotes(world: World) -> None:
    status = world.run("xbox/support.jsonl")
    assert status.runtime_status is RuntimeStatus.COMPLETED, status.failure
    run_id = status.instance_id
    assert status.output["outcome"] == "succeeded", status.output["reason"]
    assert world.publisher.types(run_id) == HAPPY_EVENTS
    sequences = [event.data.sequence for event in world.publisher.for_run(run_id)]
    assert sequences == list(range(1, len(HAPPY_EVENTS) + 1))
    assert all(event.data.run_id == run_id for event in world.publisher.for_run(run_id))
    alias = orjson.loads(world.store.read_bytes(STATE_CONTAINER, "aliases/xbox.json")[0])
    assert alias["current"]["run_id"] == run_id
    assert world.store.get_tags(TRAINING_CONTAINER, "xbox/support.jsonl") == {
        "ft_run_id": run_id,
        "ft_status": "succeeded",
    }
    for report in ("report.html", "summary.json", "validation-report.json", "smoke-report.json", "train.jsonl"):
        world.store.read_bytes(REPORTS_CONTAINER, f"runs/{run_id}/{report}")
    assert world.backend.submit_calls == 1
    assert status.custom_status["stage"] == "succeeded"
    assert [stage["stage"] for stage in status.custom_status["stages"]] == [
        "validating",
        "preparing",
        "training",
        "deploying",
        "smoke_testing",
        "promoting",
        "cleaning_up",
    ]


def test_invalid_file_is_rejected_with_a_report_and_nothing_is_trained(world: World) -> None:
    status = world.run("xbox/broken.jsonl", b'{"messages": [{"role": "user", "content": "hi"}]}\nnot json\n')
    run_id = status.instance_id
    assert status.output["outcome"] == "rejected"
    assert world.publisher.types(run_id) == [
        "finetune.run.accepted",
        "finetune.validation.failed",
        "finetune.run.rejected",
    ]
    failed = world.publisher.for_run(run_id)[1]
    assert failed.data.facts["errors"] >= 1
    assert any("line 2" in error for error in failed.data.facts["firstErrors"])
    assert world.backend.jobs == {}
    world.store.read_bytes(REPORTS_CONTAINER, f"runs/{run_id}/validation-report.json")
    world.store.read_bytes(TRAINING_CONTAINER, "xbox/broken.jsonl")  # the upload is never deleted


def test_the_same_blob_event_three_times_starts_one_run(world: World) -> None:
    etag = world.upload("xbox/once.jsonl", chat_dataset())
    outcomes = [world.start("xbox/once.jsonl").outcome for _ in range(3)]
    assert outcomes == [StartOutcome.STARTED, StartOutcome.ALREADY_EXISTS, StartOutcome.ALREADY_EXISTS]
    run_id = run_id_for(TRAINING_CONTAINER, "xbox/once.jsonl", etag)
    world.engine.run_until_complete(run_id, timeout_s=120)
    assert len([e for e in world.publisher.events if e.type == "finetune.run.accepted"]) == 1
    assert world.backend.submit_calls == 1


def test_a_re_upload_with_a_new_etag_is_a_new_run(world: World) -> None:
    first = world.run("xbox/again.jsonl")
    second = world.run("xbox/again.jsonl", chat_dataset(31))
    assert first.instance_id != second.instance_id
    assert second.output["outcome"] == "succeeded"


def test_non_jsonl_uploads_are_skipped(world: World) -> None:
    world.upload("xbox/readme.txt", b"hello")
    assert world.start("xbox/readme.txt").outcome is StartOutcome.SKIPPED
    assert world.publisher.events == []


def test_training_failure_ends_the_run_without_a_deployment(world: World) -> None:
    world.backend.faults.job_fails = True
    status = world.run("xbox/fails.jsonl")
    run_id = status.instance_id
    assert status.output["outcome"] == "failed"
    assert "out of memory" in status.output["reason"]
    types = world.publisher.types(run_id)
    assert "finetune.training.failed" in types
    assert types[-1] == "finetune.run.failed"
    assert world.backend.deployments == {}
    assert world.backend.create_deployment_calls == 0


def test_training_past_its_deadline_is_cancelled(world: World) -> None:
    world.backend.faults.job_never_ends = True
    status = world.run("xbox/slow.jsonl", metadata={"ft_max_training_hours": "2"})
    assert status.output["outcome"] == "failed"
    assert "did not finish within 2 hours" in status.output["reason"]
    job = next(iter(world.backend.jobs.values()))
    assert job.canceled


def test_a_failed_deployment_is_compensated(world: World) -> None:
    world.backend.faults.deployment_fails = True
    status = world.run("xbox/nodeploy.jsonl")
    assert status.output["outcome"] == "failed"
    assert "deployment failed" in status.output["reason"]
    assert world.backend.deployments == {}
    assert len(world.backend.deleted) == 1
    assert "finetune.deployment.failed" in world.publisher.types(status.instance_id)


def test_a_failed_smoke_test_deletes_the_new_deployment_and_keeps_the_alias(world: World) -> None:
    good = world.run("xbox/first.jsonl")
    world.chat.broken = True
    bad = world.run("xbox/second.jsonl")
    assert bad.output["outcome"] == "failed"
    assert "smoke test failed" in bad.output["reason"]
    alias = orjson.loads(world.store.read_bytes(STATE_CONTAINER, "aliases/xbox.json")[0])
    assert alias["current"]["run_id"] == good.instance_id
    assert bad.custom_status["deployment_name"] not in world.backend.deployments
    assert good.output["outcome"] == "succeeded"


def test_approval_then_approve_promotes(world: World) -> None:
    world.upload("xbox/gated.jsonl", chat_dataset(), {"ft_require_approval": "true"})
    run_id = world.start("xbox/gated.jsonl").run_id
    assert run_id is not None
    world.run_until_stage(run_id, "awaiting_approval")
    assert "finetune.approval.requested" in world.publisher.types(run_id)
    world.command("approve", run_id, "looks good")
    final = world.engine.run_until_complete(run_id, timeout_s=120)
    assert final.output["outcome"] == "succeeded"
    assert "finetune.approval.granted" in world.publisher.types(run_id)


def test_approval_then_reject_deletes_the_deployment(world: World) -> None:
    world.upload("xbox/gated.jsonl", chat_dataset(), {"ft_require_approval": "true"})
    run_id = world.start("xbox/gated.jsonl").run_id
    assert run_id is not None
    world.run_until_stage(run_id, "awaiting_approval")
    world.command("reject", run_id, "answers too long")
    final = world.engine.run_until_complete(run_id, timeout_s=120)
    assert final.output["outcome"] == "rejected"
    assert "answers too long" in final.output["reason"]
    assert world.backend.deployments == {}


def test_approval_that_never_comes_times_out_as_rejected(world: World) -> None:
    status = world.run("xbox/gated.jsonl", metadata={"ft_require_approval": "true"})
    assert status.output["outcome"] == "rejected"
    assert "no decision within 72 hours" in status.output["reason"]
    assert world.backend.deployments == {}


def test_cancel_during_training_cancels_the_job(world: World) -> None:
    world.backend.faults.job_never_ends = True
    world.upload("xbox/cancel.jsonl", chat_dataset())
    run_id = world.start("xbox/cancel.jsonl").run_id
    assert run_id is not None
    world.run_until_stage(run_id, "training")
    world.clock.advance_to(world.clock.now() + timedelta(hours=1))
    world.engine.run_until_idle(timeout_s=60, advance_clock=False)
    world.command("cancel", run_id, "wrong dataset")
    final = world.engine.run_until_complete(run_id, timeout_s=120)
    assert final.output["outcome"] == "canceled"
    assert world.publisher.types(run_id)[-1] == "finetune.run.canceled"
    assert next(iter(world.backend.jobs.values())).canceled


def test_retention_keeps_current_plus_previous_and_archives_older_models(world: World) -> None:
    runs = [world.run(f"xbox/v{n}.jsonl", chat_dataset(30 + n)) for n in range(4)]
    assert all(run.output["outcome"] == "succeeded" for run in runs)
    remaining = sorted(world.backend.deployments)
    assert remaining == sorted(run.output["deploymentName"] for run in runs[-2:])
    archived = {name.split(":")[0] for name in world.backend.archived}
    assert len(archived) == 2
    assert all(runs[-1].instance_id not in name for name in archived)


def test_no_secret_reaches_history_events_or_reports(world: World) -> None:
    status = world.run("xbox/secret.jsonl")
    assert world.chat.keys_seen, "the smoke test used the endpoint key"
    history = orjson.dumps(list(world.engine.get_history(status.instance_id)), default=str)
    events = orjson.dumps([event.model_dump(mode="json") for event in world.publisher.events])
    reports = b"".join(
        world.store.read_bytes(REPORTS_CONTAINER, info.name)[0] for info in world.store.list_blobs(REPORTS_CONTAINER)
    )
    for haystack in (history, events, reports, orjson.dumps(status.custom_status), orjson.dumps(status.output)):
        assert FAKE_KEY_PREFIX.encode() not in haystack


def test_retry_starts_a_new_run_from_the_same_upload(world: World) -> None:
    world.backend.faults.job_fails = True
    failed = world.run("xbox/flaky.jsonl")
    assert failed.output["outcome"] == "failed"
    world.backend.faults.job_fails = False
    assert "started" in world.command("retry", failed.instance_id, "transient quota problem")
    retried = world.engine.run_until_complete(f"{failed.instance_id}-r1", timeout_s=120)
    assert retried.output["outcome"] == "succeeded"
    assert retried.input["retry_of"] == failed.instance_id


def test_commands_for_unknown_or_ended_runs_are_refused_clearly(world: World) -> None:
    done = world.run("xbox/done.jsonl")
    with pytest.raises(UnknownRunError, match="no run with id"):
        world.command("cancel", "ft-nothing-000000000000")
    with pytest.raises(CommandConflictError, match="already ended"):
        world.command("cancel", done.instance_id)
    world.upload("xbox/live.jsonl", chat_dataset())
    live = world.start("xbox/live.jsonl").run_id
    assert live is not None
    with pytest.raises(CommandConflictError, match="only an ended run"):
        world.command("retry", live)


def test_bad_options_in_metadata_give_a_run_rejected_at_validation_with_the_reason(world: World) -> None:
    status = world.run("xbox/bad-options.jsonl", metadata={"ft_epochs": "lots", "ft_colour": "blue"})

    assert status.output["outcome"] == "rejected"
    assert "bad run options: blob metadata: unknown option(s) colour" in status.output["reason"]
    run_id = status.instance_id
    assert world.publisher.types(run_id) == [
        "finetune.run.accepted",
        "finetune.validation.failed",
        "finetune.run.rejected",
    ]
    accepted, failed = world.publisher.for_run(run_id)[:2]
    assert "unknown option(s) colour" in accepted.data.model_dump(by_alias=True)["optionError"]
    assert failed.data.model_dump(by_alias=True)["firstErrors"] == [status.input["option_error"]]
    assert world.store.get_tags(TRAINING_CONTAINER, "xbox/bad-options.jsonl") == {
        "ft_run_id": run_id,
        "ft_status": "rejected",
    }
    assert world.backend.jobs == {}


def test_bad_options_given_by_a_caller_are_refused_before_any_run_starts(world: World) -> None:
    world.upload("xbox/bad-model.jsonl", chat_dataset())
    with pytest.raises(InvalidOptionsError, match="unknown base model"):
        world.start("xbox/bad-model.jsonl", base_model="gpt-9")
    with pytest.raises(InvalidOptionsError, match="unknown option"):
        world.start("xbox/bad-model.jsonl", colour="blue")
    assert world.engine.query() == []


def test_janitor_removes_orphans_of_failed_runs_but_never_untagged_resources(world: World) -> None:
    current = world.run("xbox/current.jsonl")
    orphan_tags = {"managed-by": "phi-finetune-orchestrator", "family": "xbox", "run-id": "ft-old-000000000001"}
    model = ModelRef(name="xbox-old", version="1", uri="azureml://models/old/versions/1", tags=orphan_tags)
    world.backend.models[("xbox-old", "1")] = model
    world.backend.deployments["ft-old-orphan"] = DeploymentStatus(
        name="ft-old-orphan", state=DeploymentState.SUCCEEDED, model=model, tags=orphan_tags, created_at="000001"
    )
    world.backend.deployments["someone-elses"] = DeploymentStatus(
        name="someone-elses", state=DeploymentState.SUCCEEDED, tags={"family": "xbox"}, created_at="000000"
    )
    sweep = world.engine.start_new(names.JANITOR, None, JanitorInput(keep_previous=0).model_dump(mode="json"))
    result = world.engine.run_until_complete(sweep, timeout_s=60)
    assert result.output["families"]["xbox"]["deleted_deployments"] == ["ft-old-orphan"]
    assert "xbox-old:1" in result.output["families"]["xbox"]["archived_models"]
    assert set(world.backend.deployments) == {current.output["deploymentName"], "someone-elses"}


def test_a_file_too_small_to_split_is_rejected_at_preparation(world: World) -> None:
    status = world.run("xbox/small.jsonl", chat_dataset(12))
    assert status.output["outcome"] == "rejected"
    assert "preparation refused" in status.output["reason"]
    assert world.publisher.types(status.instance_id)[-2:] == ["finetune.preparation.failed", "finetune.run.rejected"]
    assert world.backend.jobs == {}


def test_an_uploaded_validation_file_is_used_instead_of_a_split(world: World) -> None:
    world.upload("xbox/held-out.jsonl", chat_dataset(5, topic="controller"))
    status = world.run("xbox/main.jsonl", chat_dataset(25), {"ft_validation_blob": "xbox/held-out.jsonl"})
    assert status.output["outcome"] == "succeeded", status.output["reason"]
    prepared = world.publisher.for_run(status.instance_id)[2]
    assert prepared.type == "finetune.preparation.succeeded"
    assert prepared.data.facts == {"trainExamples": 25, "validationExamples": 5}


def test_runs_of_one_family_finishing_together_all_succeed_and_the_alias_ends_consistent(world: World) -> None:
    run_ids = []
    for number in range(4):
        world.upload(f"xbox/together-{number}.jsonl", chat_dataset(30 + number))
        run_ids.append(world.start(f"xbox/together-{number}.jsonl").run_id)
    finals = [world.engine.run_until_complete(str(run_id), timeout_s=120) for run_id in run_ids]
    assert [final.output["outcome"] for final in finals] == ["succeeded"] * 4, [f.output["reason"] for f in finals]
    alias = orjson.loads(world.store.read_bytes(STATE_CONTAINER, "aliases/xbox.json")[0])
    promoted = [alias["current"]["run_id"], *(entry["run_id"] for entry in alias["history"])]
    assert sorted(promoted) == sorted(run_ids)
    assert alias["current"]["deployment"]["name"] in world.backend.deployments
