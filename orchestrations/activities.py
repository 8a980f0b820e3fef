"""The activities: thin wrappers that decode a typed input, call a step with the services, encode the result.

They are registered from one table, so a name is written once and every activity has the same shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import azure.durable_functions as df
from pydantic import BaseModel

from orchestrations import names
from shared import models
from shared.bootstrap import Services, services
from shared.fault_injection import pause_after_activity
from shared.steps import cleanup, janitor, prepare, promote, publish, report, smoke, training, validate
from shared.telemetry import span

bp = df.Blueprint()

Step = Callable[[Services, Any], BaseModel | None]

ACTIVITIES: dict[str, tuple[Step, type[BaseModel]]] = {
    names.VALIDATE: (validate.validate_training_file, models.ValidateInput),
    names.PREPARE: (prepare.prepare_run_datasets, models.PrepareInput),
    names.SUBMIT: (training.submit_training_job, models.SubmitInput),
    names.GET_STATUS: (training.get_status, models.PollInput),
    names.CANCEL_JOB: (training.cancel_training_job, models.NameInput),
    names.DEPLOY: (training.create_deployment, models.DeployInput),
    names.DELETE_DEPLOYMENT: (training.delete_deployment, models.NameInput),
    names.SMOKE_TEST: (smoke.smoke_test_deployment, models.SmokeInput),
    names.PROMOTE: (promote.promote_deployment, models.PromoteInput),
    names.CLEAN_UP: (cleanup.clean_up_family, models.CleanupInput),
    names.PUBLISH_EVENT: (publish.publish_event, models.PublishInput),
    names.TAG_BLOB: (publish.tag_training_blob, models.TagInput),
    names.FINALIZE: (report.write_run_report, models.FinalizeInput),
    names.JANITOR_SWEEP: (janitor.sweep, models.JanitorInput),
}


def run_activity(name: str, envelope: Any) -> dict[str, Any] | None:
    """Run the named activity's step on its `ActivityCall` envelope, in a span of the run's trace."""
    step, input_type = ACTIVITIES[name]
    call = models.ActivityCall.model_validate(envelope)
    deps = services()
    attributes = {"activity.name": name, "run.id": call.run_id, "run.stage": call.stage}
    with span(f"activity {name}", attributes, carrier=call.trace):
        result = step(deps, input_type.model_validate(call.payload))
        pause_after_activity(name, deps.settings)
    return result.model_dump(mode="json") if result is not None else None


def _activity_function(name: str) -> Callable[[Any], dict[str, Any] | None]:
    def activity_function(payload: Any) -> dict[str, Any] | None:
        return run_activity(name, payload)

    activity_function.__name__ = activity_function.__qualname__ = name
    activity_function.__doc__ = f"Activity {name}."
    return activity_function


for _name in ACTIVITIES:
    bp.activity_trigger(input_name="payload", activity=_name)(_activity_function(_name))
