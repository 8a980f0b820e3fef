"""The janitor orchestration: one sweep, retried by policy, started daily by the timer trigger."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import azure.durable_functions as df

from orchestrations import names
from orchestrations.calls import Task, call
from shared.models import JanitorInput, JanitorResult

bp = df.Blueprint()


def janitor(context: df.DurableOrchestrationContext) -> Generator[Task, Any, dict[str, Any]]:
    """Sweep every family once; returns what was removed."""
    request = JanitorInput.model_validate(context.get_input())
    result = yield from call(context, names.JANITOR_SWEEP, request, JanitorResult)
    return result.model_dump(mode="json")


bp.orchestration_trigger(context_name="context", orchestration=names.JANITOR)(janitor)
