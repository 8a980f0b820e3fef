"""Starting runs and commanding them through the Durable client: what every trigger shares.

The client is the SDK's `DurableOrchestrationClient` (in Azure, and on the devhost against its engine).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import azure.durable_functions as df
from pydantic import BaseModel

from orchestrations import names
from shared.bootstrap import Services
from shared.commands import Command
from shared.errors import InvalidOptionsError, OrchestratorError
from shared.events import EventType, build_event
from shared.models import BlobRef, RunInput, RunPolicy
from shared.names import BLOB_RUN_ID_TAG, BLOB_STATUS_TAG
from shared.runs import check_blob_name, overrides_from_metadata, resolve_options, run_id_for
from shared.steps.publish import publish_events
from shared.telemetry import inject_trace_context, instruments, span

logger = logging.getLogger(__name__)

ACCEPTED_SEQUENCE = 1
_ACTIVE = {"Pending", "Running", "ContinuedAsNew"}
_ENDED = {"Completed", "Failed", "Terminated", "Canceled"}


class UnknownRunError(OrchestratorError):
    """No run has this id."""


class CommandConflictError(OrchestratorError):
    """The run is not in a state where this command applies."""


class StartOutcome(StrEnum):
    """What a start request did."""

    STARTED = "started"
    ALREADY_EXISTS = "already_exists"
    SKIPPED = "skipped"


class StartResult(BaseModel):
    """The run a start request refers to."""

    run_id: str | None
    outcome: StartOutcome
    detail: str = ""


def run_policy(services: Services) -> RunPolicy:
    """The settings a run's orchestrations need, frozen into its input."""
    settings = services.settings
    return RunPolicy(
        poll_initial_seconds=settings.poll_initial_seconds,
        poll_max_seconds=settings.poll_max_seconds,
        polls_per_generation=settings.polls_per_generation,
        deployment_timeout_minutes=settings.deployment_timeout_minutes,
        approval_timeout_hours=settings.approval_timeout_hours,
        keep_previous=settings.keep_previous,
    )


def runtime_status(status: Any) -> str | None:
    """The runtime status name of a `DurableOrchestrationStatus`, or None when the instance does not exist."""
    value = getattr(status, "runtime_status", None)
    if value is None:
        return None
    return str(getattr(value, "value", value))


async def start_run(
    client: df.DurableOrchestrationClient,
    services: Services,
    container: str,
    blob_name: str,
    *,
    overrides: dict[str, Any] | None = None,
) -> StartResult:
    """Start the run of one blob version unless it exists; tag the blob and publish `run.accepted`.

    Options come from the blob's `ft_*` metadata, then `overrides`. Bad `overrides` (a caller is waiting for the
    answer) raise `InvalidOptionsError`; bad metadata alone starts a run, with the default options, that is
    rejected at validation with the reason, so the upload gets its tags and events like any invalid file.
    """
    if not blob_name.lower().endswith(".jsonl"):
        logger.info("skipping %r: only .jsonl files start runs", f"{container}/{blob_name}")
        return StartResult(run_id=None, outcome=StartOutcome.SKIPPED, detail="only .jsonl files start runs")
    check_blob_name(blob_name)
    info = services.store.get_info(container, blob_name)
    run_id = run_id_for(container, blob_name, info.etag)
    option_error = None
    try:
        options = resolve_options(
            services.settings, blob_name, {**overrides_from_metadata(info.metadata), **(overrides or {})}
        )
    except InvalidOptionsError as error:
        if overrides:
            raise
        options, option_error = resolve_options(services.settings, blob_name, {}), f"blob metadata: {error}"
    if runtime_status(await client.get_status(run_id)) is not None:
        return StartResult(run_id=run_id, outcome=StartOutcome.ALREADY_EXISTS, detail="this upload already has a run")
    with span("start run", {"run.id": run_id, "run.family": options.family, "blob.name": blob_name}):
        run = RunInput(
            run_id=run_id,
            blob=BlobRef(container=container, name=blob_name, etag=info.etag),
            options=options,
            policy=run_policy(services),
            accepted_at=datetime.now(UTC),
            trace=inject_trace_context(),
            option_error=option_error,
        )
        return await _start(client, services, run)


async def _start(client: df.DurableOrchestrationClient, services: Services, run: RunInput) -> StartResult:
    run_id, blob, options, accepted_at = run.run_id, run.blob, run.options, run.accepted_at
    container, blob_name = blob.container, blob.name
    accepted = build_event(
        run_id,
        EventType.RUN_ACCEPTED,
        ACCEPTED_SEQUENCE,
        state="accepted",
        data={
            "blob": f"{container}/{blob_name}",
            "etag": blob.etag,
            "family": options.family,
            "options": options.model_dump(mode="json"),
            **({"optionError": run.option_error} if run.option_error else {}),
        },
        time=accepted_at,
    )
    # Published before the start, so it is the first event of the run; a repeat has the same id and is dropped.
    publish_events(services, [accepted])
    services.store.set_tags(container, blob_name, {BLOB_RUN_ID_TAG: run_id, BLOB_STATUS_TAG: "accepted"})
    try:
        await client.start_new(names.PIPELINE, run_id, run.model_dump(mode="json"))
    except Exception:
        if runtime_status(await client.get_status(run_id)) is not None:
            return StartResult(run_id=run_id, outcome=StartOutcome.ALREADY_EXISTS, detail="started concurrently")
        raise
    instruments().run_started(options.family)
    logger.info("started run %s for %r", run_id, f"{container}/{blob_name}")
    return StartResult(run_id=run_id, outcome=StartOutcome.STARTED)


async def handle_command(client: df.DurableOrchestrationClient, services: Services, command: Command) -> str:
    """Carry out cancel, approve, reject or retry on a run; returns what was done, in words."""
    status = await client.get_status(command.run_id, show_input=command.command == "retry")
    state = runtime_status(status)
    if state is None:
        raise UnknownRunError(f"no run with id {command.run_id!r}")
    data = {"reason": command.reason or f"{command.command} requested"}
    if command.command == "retry":
        if state not in _ENDED:
            raise CommandConflictError(f"run {command.run_id} is {state}; only an ended run can be retried")
        return await _retry(client, services, command.run_id, status.input_)
    if state not in _ACTIVE:
        raise CommandConflictError(f"run {command.run_id} has already ended ({state})")
    if command.command == "cancel":
        await client.raise_event(command.run_id, names.CANCEL_EVENT, data)
        for kind in ("training", "deployment"):
            monitor = names.monitor_instance_id(command.run_id, kind)
            if runtime_status(await client.get_status(monitor)) in _ACTIVE:
                await client.raise_event(monitor, names.CANCEL_EVENT, data)
        return f"cancel requested for {command.run_id}"
    stage = (status.custom_status or {}).get("stage") if isinstance(status.custom_status, dict) else None
    if stage != "awaiting_approval":
        raise CommandConflictError(f"run {command.run_id} is not awaiting approval (stage: {stage})")
    event = names.APPROVE_EVENT if command.command == "approve" else names.REJECT_EVENT
    await client.raise_event(command.run_id, event, data)
    return f"{command.command} sent to {command.run_id}"


async def _retry(client: df.DurableOrchestrationClient, services: Services, run_id: str, original: Any) -> str:
    try:
        previous = RunInput.model_validate(original)
    except Exception as error:
        raise InvalidOptionsError(f"run {run_id} has no input to retry from") from error
    base = previous.retry_of or previous.run_id
    for attempt in range(1, 1000):
        candidate = f"{base}-r{attempt}"
        if runtime_status(await client.get_status(candidate)) is None:
            break
    run = previous.model_copy(
        update={"run_id": candidate, "retry_of": base, "accepted_at": datetime.now(UTC), "policy": run_policy(services)}
    )
    await client.start_new(names.PIPELINE, candidate, run.model_dump(mode="json"))
    return f"started {candidate} to retry {run_id}"
