"""The promote step: point a family's alias at a deployment, guarded by ETags so no update is lost."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field

from shared.bootstrap import Services
from shared.errors import BlobNotFoundError, ETagConflictError, TransientError
from shared.models import DeploymentRef, PromoteInput, PromoteResult
from shared.names import alias_blob_name

MAX_ALIAS_ATTEMPTS = 20
HISTORY_LENGTH = 20


class AliasEntry(BaseModel):
    """One promotion of a family."""

    run_id: str
    deployment: DeploymentRef
    promoted_at: datetime


class AliasRecord(BaseModel):
    """`finetune-state/aliases/<family>.json`: the current deployment of a family and the ones before."""

    family: str
    current: AliasEntry
    history: list[AliasEntry] = Field(default_factory=list)


def read_alias(services: Services, family: str) -> tuple[AliasRecord | None, str | None]:
    """The family's alias record and its ETag, or (None, None) when the family has none yet."""
    try:
        data, etag = services.store.read_bytes(services.settings.state_container, alias_blob_name(family))
    except BlobNotFoundError:
        return None, None
    return AliasRecord.model_validate_json(data), etag


def promote_deployment(services: Services, request: PromoteInput) -> PromoteResult:
    """Make the run's deployment the family's current one; a concurrent promotion is re-read and retried."""
    name = alias_blob_name(request.family)
    container = services.settings.state_container
    for _ in range(MAX_ALIAS_ATTEMPTS):
        record, etag = read_alias(services, request.family)
        if record is not None and record.current.run_id == request.run_id:
            previous = record.history[0].deployment.name if record.history else None
            return PromoteResult(alias_blob=name, previous_deployment=previous)
        entry = AliasEntry(run_id=request.run_id, deployment=request.deployment, promoted_at=datetime.now(UTC))
        history = ([record.current, *record.history] if record else [])[:HISTORY_LENGTH]
        updated = AliasRecord(family=request.family, current=entry, history=history)
        try:
            services.store.upload(
                container,
                name,
                updated.model_dump_json(indent=2).encode(),
                content_type="application/json",
                if_match=etag,
                if_none_match_any=etag is None,
            )
        except ETagConflictError:
            continue
        return PromoteResult(alias_blob=name, previous_deployment=record.current.deployment.name if record else None)
    raise TransientError(f"alias {request.family} kept changing under {MAX_ALIAS_ATTEMPTS} promotion attempts")
