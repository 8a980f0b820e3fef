from __future__ import annotations

import pytest
from azure.ai.ml._restclient.arm_ml_service.models._enums import JobStatus as SdkJobStatus

from shared.foundry.azure_status import map_deployment_state, map_job_status
from shared.foundry.port import DeploymentState, JobState

JOB_TABLE = [
    ("NotStarted", JobState.QUEUED),
    ("Queued", JobState.QUEUED),
    ("Preparing", JobState.QUEUED),
    ("Provisioning", JobState.QUEUED),
    ("Starting", JobState.QUEUED),
    ("Running", JobState.RUNNING),
    ("Finalizing", JobState.RUNNING),
    ("CancelRequested", JobState.RUNNING),
    ("Paused", JobState.RUNNING),
    ("Completed", JobState.SUCCEEDED),
    ("Failed", JobState.FAILED),
    ("Canceled", JobState.CANCELED),
    ("NotResponding", JobState.FAILED),
]


@pytest.mark.parametrize(("status", "expected"), JOB_TABLE)
def test_every_foundry_job_status_maps_to_one_port_state(status: str, expected: JobState) -> None:
    assert map_job_status(status).state is expected


def test_every_status_the_sdk_knows_is_in_the_table() -> None:
    known = {status for status, _ in JOB_TABLE}
    assert {member.value for member in SdkJobStatus} - {"Unknown"} == known


def test_job_status_is_matched_case_insensitively() -> None:
    assert map_job_status("completed").state is JobState.SUCCEEDED
    assert map_job_status(" RUNNING ").state is JobState.RUNNING


def test_terminal_states_are_exactly_what_the_sdk_calls_terminal_except_a_pause() -> None:
    terminal = {status for status, _ in JOB_TABLE if map_job_status(status).state.is_terminal}
    assert terminal == {"Completed", "Failed", "Canceled", "NotResponding"}


@pytest.mark.parametrize("status", [None, "", "Unknown", "SomethingNew"])
def test_missing_or_unknown_status_keeps_the_job_non_terminal(status: str | None) -> None:
    mapped = map_job_status(status)
    assert not mapped.state.is_terminal
    if status:
        assert status in mapped.message


def test_failed_job_carries_its_error_text() -> None:
    mapped = map_job_status("Failed", error="training data has 3 examples; 10 needed")
    assert mapped.state is JobState.FAILED
    assert "3 examples" in mapped.message


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("Creating", DeploymentState.PROVISIONING),
        ("updating", DeploymentState.PROVISIONING),
        ("NotStarted", DeploymentState.PROVISIONING),
        (None, DeploymentState.PROVISIONING),
        ("Succeeded", DeploymentState.SUCCEEDED),
        ("succeeded", DeploymentState.SUCCEEDED),
        ("Failed", DeploymentState.FAILED),
        ("Canceled", DeploymentState.FAILED),
        ("Deleting", DeploymentState.DELETING),
        ("Unheardof", DeploymentState.PROVISIONING),
    ],
)
def test_endpoint_provisioning_state_maps_to_deployment_state(state: str | None, expected: DeploymentState) -> None:
    assert map_deployment_state(state) is expected
