from __future__ import annotations

from shared.foundry.port import DeploymentState, DeploymentStatus, ModelRef
from shared.policy import Backoff, plan_retention

MANAGED = {"managed-by": "phi-finetune-orchestrator", "family": "xbox"}


def test_backoff_doubles_up_to_its_cap() -> None:
    backoff = Backoff(initial_s=30, cap_s=600)
    assert [backoff.delay_s(n) for n in range(7)] == [30, 60, 120, 240, 480, 600, 600]
    assert backoff.delay_s(10_000) == 600


def _model(run: str) -> ModelRef:
    return ModelRef(name=f"m-{run}", version="1", uri=f"azureml://m/{run}", tags={**MANAGED, "run-id": run})


def _deployment(run: str, created: str) -> DeploymentStatus:
    return DeploymentStatus(
        name=f"d-{run}",
        state=DeploymentState.SUCCEEDED,
        model=_model(run),
        tags={**MANAGED, "run-id": run},
        created_at=created,
    )


def test_retention_keeps_current_and_newest_previous_then_archives_unserved_models() -> None:
    deployments = [_deployment(run, created) for run, created in [("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")]]
    models = [_model(run) for run in "abcd"]
    plan = plan_retention(deployments, models, current_deployment="d-c", keep_previous=1)
    assert plan.delete_deployments == ["d-a", "d-b"]
    assert [m.name for m in plan.archive_models] == ["m-a", "m-b"]


def test_retention_never_touches_untagged_resources_or_live_runs() -> None:
    stranger = DeploymentStatus(name="theirs", state=DeploymentState.SUCCEEDED, tags={"family": "xbox"}, created_at="0")
    untagged_model = ModelRef(name="theirs", version="1", uri="azureml://theirs")
    live = _deployment("live", "0")
    plan = plan_retention(
        [stranger, live, _deployment("cur", "9")],
        [untagged_model, _model("live")],
        current_deployment="d-cur",
        keep_previous=0,
        protected_runs=["live"],
    )
    assert plan.delete_deployments == []
    assert plan.archive_models == []


def test_archived_models_are_not_archived_again() -> None:
    archived = _model("old").model_copy(update={"archived": True})
    assert plan_retention([], [archived], current_deployment=None, keep_previous=0).archive_models == []


def test_retention_limited_to_eligible_runs_spares_runs_still_in_flight() -> None:
    deployments = [_deployment(run, created) for run, created in [("old", "1"), ("prev", "2"), ("cur", "3")]]
    in_flight = _model("new")  # registered, not yet deployed, not yet promoted
    plan = plan_retention(
        deployments,
        [*(_model(run) for run in ("old", "prev", "cur")), in_flight],
        current_deployment="d-cur",
        keep_previous=0,
        eligible_runs={"old", "prev", "cur"},
    )
    assert plan.delete_deployments == ["d-old", "d-prev"]
    assert [m.name for m in plan.archive_models] == ["m-old", "m-prev"]
