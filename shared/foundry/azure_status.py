"""How Azure AI Foundry's job and endpoint status strings map onto the port's normalised states.

Pure functions, no SDK import: the orchestration's monitors decide on these states, so the mapping is
policy and is tested as a table. Foundry spells states in PascalCase for jobs and in any case for
endpoints; both are matched case-insensitively.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, ConfigDict

from shared.foundry.port import DeploymentState, JobState


class MappedJobStatus(BaseModel):
    """A Foundry job status string turned into the port's state plus a message for people."""

    model_config = ConfigDict(frozen=True)

    state: JobState
    message: str


_JOB_STATES: Final[dict[str, tuple[JobState, str]]] = {
    "notstarted": (JobState.QUEUED, "waiting to start"),
    "queued": (JobState.QUEUED, "queued for compute"),
    "preparing": (JobState.QUEUED, "preparing the training environment"),
    "provisioning": (JobState.QUEUED, "provisioning compute"),
    "starting": (JobState.QUEUED, "starting"),
    "running": (JobState.RUNNING, "training"),
    "finalizing": (JobState.RUNNING, "training done; registering the model"),
    # A cancel takes a while to land; until Foundry says Canceled the job may still finish.
    "cancelrequested": (JobState.RUNNING, "cancellation requested"),
    # Paused jobs can be resumed from the portal; the monitor's deadline bounds a pause that never ends.
    "paused": (JobState.RUNNING, "paused in Azure AI Foundry"),
    "completed": (JobState.SUCCEEDED, "completed"),
    "failed": (JobState.FAILED, "failed"),
    "canceled": (JobState.CANCELED, "canceled"),
    # The SDK counts NotResponding among the terminal statuses: no heartbeat, no progress, no model.
    "notresponding": (JobState.FAILED, "the job stopped responding (no heartbeat from its compute)"),
}

_DEPLOYMENT_STATES: Final[dict[str, DeploymentState]] = {
    "notstarted": DeploymentState.PROVISIONING,
    "creating": DeploymentState.PROVISIONING,
    "updating": DeploymentState.PROVISIONING,
    "succeeded": DeploymentState.SUCCEEDED,
    "failed": DeploymentState.FAILED,
    "canceled": DeploymentState.FAILED,
    "deleting": DeploymentState.DELETING,
}


def map_job_status(status: str | None, error: str | None = None) -> MappedJobStatus:
    """The port state of a Foundry job status string (`None` = just created, not yet reported).

    An unrecognised status keeps the job non-terminal (the monitor keeps polling and its deadline
    still applies) and says which string it was. `error` (the job's own error text) replaces the
    generic message of a failed job.
    """
    if status is None or not status.strip():
        return MappedJobStatus(state=JobState.QUEUED, message="submitted; no status reported yet")
    known = _JOB_STATES.get(status.strip().lower())
    if known is None:
        return MappedJobStatus(state=JobState.RUNNING, message=f"unrecognised Foundry job status {status!r}")
    state, message = known
    if state is JobState.FAILED and error:
        message = f"{message}: {error}"
    return MappedJobStatus(state=state, message=message)


def map_deployment_state(provisioning_state: str | None) -> DeploymentState:
    """The port state of a serverless endpoint's provisioning state (`None` = still being created)."""
    if provisioning_state is None or not provisioning_state.strip():
        return DeploymentState.PROVISIONING
    return _DEPLOYMENT_STATES.get(provisioning_state.strip().lower(), DeploymentState.PROVISIONING)
