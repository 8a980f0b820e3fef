"""The daily janitor: re-applies retention to every family and removes what failed runs left behind."""

from __future__ import annotations

import logging

import azure.durable_functions as df
import azure.functions as func

from orchestrations import names
from shared.bootstrap import services
from shared.models import JanitorInput
from shared.runs import RUN_ID_PATTERN
from triggers.control import runtime_status

logger = logging.getLogger(__name__)
bp = df.Blueprint()

ACTIVE_STATUSES = {"Pending", "Running", "ContinuedAsNew"}


@bp.timer_trigger(arg_name="timer", schedule="0 30 3 * * *", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def janitor_daily(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Start one janitor sweep, sparing the runs still going."""
    statuses = await client.get_status_all()
    active = sorted(
        s.instance_id
        for s in statuses
        if s.name == names.PIPELINE
        and RUN_ID_PATTERN.match(s.instance_id or "")
        and runtime_status(s) in ACTIVE_STATUSES
    )
    request = JanitorInput(keep_previous=services().settings.keep_previous, active_runs=active)
    instance_id = await client.start_new(names.JANITOR, None, request.model_dump(mode="json"))
    logger.info("janitor sweep %s started (%d runs spared)", instance_id, len(active))
