"""The clean-up step: retention over a family's managed deployments, then its models."""

from __future__ import annotations

from shared.bootstrap import Services
from shared.models import CleanupInput, CleanupResult
from shared.policy import plan_retention
from shared.steps.promote import AliasRecord, read_alias


def _promoted_runs(record: AliasRecord | None) -> set[str]:
    if record is None:
        return set()
    return {record.current.run_id, *(entry.run_id for entry in record.history)}


def clean_up_family(services: Services, request: CleanupInput) -> CleanupResult:
    """Keep the current deployment plus `keep_previous`; delete older deployments, then archive unserved models."""
    backend = services.backend
    record, _ = read_alias(services, request.family)
    plan = plan_retention(
        backend.list_managed_deployments(request.family),
        backend.list_managed_models(request.family),
        current_deployment=record.current.deployment.name if record else None,
        keep_previous=request.keep_previous,
        protected_runs=request.protected_runs,
        eligible_runs=_promoted_runs(record) if request.promoted_only else None,
    )
    for name in plan.delete_deployments:
        backend.delete_deployment(name)
    for model in plan.archive_models:
        backend.archive_model(model.name, model.version)
    return CleanupResult(
        deleted_deployments=plan.delete_deployments,
        archived_models=[f"{model.name}:{model.version}" for model in plan.archive_models],
    )
