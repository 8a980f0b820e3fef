"""Orchestration and activity names, defined once: used both to register and to call."""

from __future__ import annotations

from typing import Final

PIPELINE: Final = "fine_tune_pipeline"
MONITOR: Final = "poll_until_done"
JANITOR: Final = "janitor"

VALIDATE: Final = "validate_training_file"
PREPARE: Final = "prepare_datasets"
SUBMIT: Final = "submit_training_job"
GET_STATUS: Final = "get_status"
CANCEL_JOB: Final = "cancel_training_job"
DEPLOY: Final = "create_deployment"
DELETE_DEPLOYMENT: Final = "delete_deployment"
SMOKE_TEST: Final = "smoke_test_deployment"
PROMOTE: Final = "promote_deployment"
CLEAN_UP: Final = "clean_up_family"
PUBLISH_EVENT: Final = "publish_event"
TAG_BLOB: Final = "tag_training_blob"
FINALIZE: Final = "write_run_report"
JANITOR_SWEEP: Final = "janitor_sweep"

CANCEL_EVENT: Final = "cancel"
APPROVE_EVENT: Final = "approve"
REJECT_EVENT: Final = "reject"


def monitor_instance_id(run_id: str, kind: str) -> str:
    """The deterministic instance id of a run's training or deployment monitor."""
    return f"{run_id}:{kind}"
