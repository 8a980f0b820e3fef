"""The Azure adapter driving the real azure-ai-ml SDK against a fake transport that checks each REST call."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from azure.ai.ml.finetuning import FineTuningTaskType, create_finetuning_job

from shared.errors import ConfigurationError, PermanentError, TransientError
from shared.foundry.azure import AzureFoundryBackend
from shared.foundry.azure_mapping import endpoint_name
from shared.foundry.port import DeploymentRequest, DeploymentState, JobState, ModelRef, TrainingRequest
from shared.settings import Settings
from tests.fakes.azure_foundry import (
    LOCATION,
    PROJECT,
    RESOURCE_GROUP,
    SUBSCRIPTION,
    WORKSPACE_ID,
    WS,
    FakeCredential,
    FakeFoundry,
)

TRAIN_BLOB = "https://stphi.blob.core.windows.net/training-data/xbox/support.jsonl"
VALID_BLOB = "https://stphi.blob.core.windows.net/finetune-reports/runs/ft-support-0123456789ab/validation.jsonl"
RUN_ID = "ft-support-0123456789ab"
MANAGED = {"managed-by": "phi-finetune-orchestrator", "family": "xbox", "run-id": RUN_ID}


def settings(**changes: object) -> Settings:
    values: dict[str, object] = {
        "foundry_backend": "azure",
        "azure_subscription_id": SUBSCRIPTION,
        "azure_resource_group": RESOURCE_GROUP,
        "azure_ai_project_name": PROJECT,
    }
    return Settings.model_validate(values | changes)


@pytest.fixture
def fake() -> FakeFoundry:
    return FakeFoundry()


@pytest.fixture
def backend(fake: FakeFoundry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AzureFoundryBackend:
    monkeypatch.chdir(tmp_path)  # outside any git work tree: the SDK runs git to tag jobs with commit facts
    # retry_total=0: the SDK's own retries would otherwise absorb the faults these tests inject.
    return AzureFoundryBackend(
        settings(), credential=FakeCredential(), transport=fake, client_options={"retry_total": 0}
    )


def training_request(**changes: object) -> TrainingRequest:
    fields: dict[str, object] = {
        "job_name": f"{RUN_ID}-train",
        "run_id": RUN_ID,
        "family": "xbox",
        "base_model": "Phi-3-mini-4k-instruct",
        "training_data_uri": f"azureml:{RUN_ID}-train:1",
        "validation_data_uri": f"azureml:{RUN_ID}-validation:1",
        "epochs": 3,
        "learning_rate": 2e-4,
        "batch_size": 4,
        "output_model_prefix": f"{RUN_ID}-model",
        "tags": {"team": "support"},
    }
    return TrainingRequest.model_validate(fields | changes)


def completed_model(backend: AzureFoundryBackend, fake: FakeFoundry) -> ModelRef:
    backend.submit_job(training_request())
    fake.complete_job(f"{RUN_ID}-train", model_version="2")
    return backend.get_output_model(f"{RUN_ID}-train")


# --- construction --------------------------------------------------------------------------------------------


def test_building_the_backend_makes_no_call(fake: FakeFoundry) -> None:
    AzureFoundryBackend(settings(), credential=FakeCredential(), transport=fake)
    assert fake.calls == []


def test_missing_project_settings_are_named(fake: FakeFoundry) -> None:
    backend = AzureFoundryBackend(
        settings(azure_subscription_id=None, azure_ai_project_name=None), credential=FakeCredential(), transport=fake
    )
    with pytest.raises(ConfigurationError, match="AZURE_SUBSCRIPTION_ID, AZURE_AI_PROJECT_NAME"):
        backend.get_job("anything")
    assert fake.calls == []


# --- datasets ------------------------------------------------------------------------------------------------


def test_dataset_is_registered_once_as_a_uri_file_asset(backend: AzureFoundryBackend, fake: FakeFoundry) -> None:
    reference = backend.register_dataset(f"{RUN_ID}-train", TRAIN_BLOB)
    assert reference == f"azureml:{RUN_ID}-train:1"
    (put,) = fake.requests_to("PUT", f"{WS}/data/{RUN_ID}-train/versions/1")
    assert put.body["properties"]["dataType"] == "uri_file"
    assert put.body["properties"]["dataUri"] == TRAIN_BLOB
    assert put.body["properties"]["tags"] == {"managed-by": "phi-finetune-orchestrator"}

    assert backend.register_dataset(f"{RUN_ID}-train", TRAIN_BLOB) == reference
    assert len(fake.requests_to("PUT", f"{WS}/data/.*")) == 1


def test_a_dataset_name_taken_by_another_file_is_refused(backend: AzureFoundryBackend) -> None:
    backend.register_dataset(f"{RUN_ID}-train", TRAIN_BLOB)
    with pytest.raises(PermanentError, match="already exists for another file"):
        backend.register_dataset(f"{RUN_ID}-train", VALID_BLOB)


def test_a_dataset_location_that_is_not_a_url_is_refused_before_any_call(
    backend: AzureFoundryBackend, fake: FakeFoundry
) -> None:
    with pytest.raises(PermanentError, match="not a blob URL"):
        backend.register_dataset("d", "data/local.jsonl")
    assert fake.calls == []


# --- jobs ------------------------------------------------------------------------------------------------------


def test_submit_sends_a_chat_completion_finetuning_job_for_the_latest_base_model(
    backend: AzureFoundryBackend, fake: FakeFoundry
) -> None:
    status = backend.submit_job(training_request())
    assert status.state is JobState.QUEUED

    (discovery,) = fake.requests_to("GET", r"/registrymanagement/v1\.0/registries/azureml/discovery")
    (latest,) = fake.requests_to("GET", r".*/registries/azureml/models/Phi-3-mini-4k-instruct/versions")
    assert latest.query["$orderBy"] == "createdtime desc"
    assert latest.query["$top"] == "1"

    (put,) = fake.requests_to("PUT", f"{WS}/jobs/{RUN_ID}-train")
    job = put.body["properties"]
    assert job["jobType"] == "FineTuning"
    details = job["fineTuningDetails"]
    assert details["taskType"] == "chatCompletion"
    assert details["model"] == {
        "uri": "azureml://registries/azureml/models/Phi-3-mini-4k-instruct/versions/15",
        "jobInputType": "mlflow_model",
    }
    assert details["trainingData"] == {"uri": f"{WS}/data/{RUN_ID}-train/versions/1", "jobInputType": "uri_file"}
    assert details["validationData"] == {
        "uri": f"{WS}/data/{RUN_ID}-validation/versions/1",
        "jobInputType": "uri_file",
    }
    assert details["hyperParameters"] == {
        "num_train_epochs": "3",
        "per_device_train_batch_size": "4",
        "learning_rate": "0.0002",
    }
    assert job["outputs"]["registered_model"] == {"assetName": f"{RUN_ID}-model", "jobOutputType": "mlflow_model"}
    assert job["tags"] == MANAGED | {"team": "support"}
    assert job["experimentName"] == "phi3-finetune"
    assert discovery.host.endswith("api.azureml.ms")


def test_the_base_model_version_is_resolved_once_and_cached(backend: AzureFoundryBackend, fake: FakeFoundry) -> None:
    backend.submit_job(training_request())
    backend.submit_job(training_request(job_name="ft-other-0123456789ab-train", run_id="ft-other-0123456789ab"))
    assert len(fake.requests_to("GET", r".*/registries/azureml/models/Phi-3-mini-4k-instruct/versions")) == 1
    assert len(fake.requests_to("PUT", f"{WS}/jobs/.*")) == 2


def test_submitting_an_existing_job_returns_it_without_a_second_submission(
    backend: AzureFoundryBackend, fake: FakeFoundry
) -> None:
    backend.submit_job(training_request())
    fake.set_job_status(f"{RUN_ID}-train", "Running")
    again = backend.submit_job(training_request())
    assert again.state is JobState.RUNNING
    assert len(fake.requests_to("PUT", f"{WS}/jobs/.*")) == 1


def test_a_job_created_by_a_concurrent_attempt_is_returned(backend: AzureFoundryBackend, fake: FakeFoundry) -> None:
    backend.submit_job(training_request())
    # The next GET says "not found" (the other attempt's PUT is not visible yet); the PUT then conflicts.
    fake.fail("GET", f"{WS}/jobs/{RUN_ID}-train", 404)
    status = backend.submit_job(training_request())
    assert status.job_name == f"{RUN_ID}-train"
    assert len(fake.requests_to("PUT", f"{WS}/jobs/.*")) == 2


def test_the_sdk_bug_without_validation_data_is_real() -> None:
    with pytest.raises(UnboundLocalError):
        create_finetuning_job(
            model="azureml://registries/azureml/models/Phi-3-mini-4k-instruct/versions/15",
            task=FineTuningTaskType.CHAT_COMPLETION,
            training_data="azureml:t:1",
            output_model_name_prefix="m",
        )


def test_our_jobs_always_carry_validation_data_and_never_hit_the_sdk_bug(
    backend: AzureFoundryBackend, fake: FakeFoundry
) -> None:
    with pytest.raises(PermanentError, match="a validation dataset is required"):
        backend.submit_job(training_request(validation_data_uri=""))
    assert fake.requests_to("PUT", f"{WS}/jobs/.*") == []
    backend.submit_job(training_request())
    (put,) = fake.requests_to("PUT", f"{WS}/jobs/.*")
    assert put.body["properties"]["fineTuningDetails"]["validationData"]["uri"]


def test_an_unknown_base_model_is_a_permanent_error_listing_the_catalog(backend: AzureFoundryBackend) -> None:
    with pytest.raises(PermanentError, match="Phi-3-mini-128k-instruct"):
        backend.submit_job(training_request(base_model="gpt-4o"))


@pytest.mark.parametrize(
    ("azure_status", "state"),
    [
        ("Preparing", JobState.QUEUED),
        ("Running", JobState.RUNNING),
        ("Completed", JobState.SUCCEEDED),
        ("Canceled", JobState.CANCELED),
    ],
)
def test_job_status_is_read_and_normalised(
    backend: AzureFoundryBackend, fake: FakeFoundry, azure_status: str, state: JobState
) -> None:
    backend.submit_job(training_request())
    fake.set_job_status(f"{RUN_ID}-train", azure_status)
    status = backend.get_job(f"{RUN_ID}-train")
    assert status.state is state
    assert status.job_name == f"{RUN_ID}-train"


def test_reading_a_job_that_does_not_exist_says_so(backend: AzureFoundryBackend) -> None:
    with pytest.raises(PermanentError, match="no fine-tuning job named 'missing-job'"):
        backend.get_job("missing-job")


def test_cancel_asks_azure_to_stop_a_running_job(backend: AzureFoundryBackend, fake: FakeFoundry) -> None:
    backend.submit_job(training_request())
    fake.set_job_status(f"{RUN_ID}-train", "Running")
    status = backend.cancel_job(f"{RUN_ID}-train")
    assert len(fake.requests_to("POST", f"{WS}/jobs/{RUN_ID}-train/cancel")) == 1
    assert status.state is JobState.RUNNING
    assert status.message == "cancellation requested"


def test_cancelling_a_job_that_was_never_created_is_not_an_error(
    backend: AzureFoundryBackend, fake: FakeFoundry
) -> None:
    status = backend.cancel_job("never-submitted")
    assert status.state is JobState.CANCELED
    assert "nothing to cancel" in status.message
    assert fake.requests_to("POST", f"{WS}/jobs/.*/cancel") == []


def test_cancelling_an_ended_job_changes_nothing(backend: AzureFoundryBackend, fake: FakeFoundry) -> None:
    backend.submit_job(training_request())
    fake.set_job_status(f"{RUN_ID}-train", "Completed")
    assert backend.cancel_job(f"{RUN_ID}-train").state is JobState.SUCCEEDED
    assert fake.requests_to("POST", f"{WS}/jobs/.*/cancel") == []


def test_the_output_model_is_the_registered_model_tagged_as_ours(
    backend: AzureFoundryBackend, fake: FakeFoundry
) -> None:
    model = completed_model(backend, fake)
    assert model.name == f"{RUN_ID}-model"
    assert model.version == "2"
    assert model.uri == f"azureml://locations/{LOCATION}/workspaces/{WORKSPACE_ID}/models/{RUN_ID}-model/versions/2"
    assert model.tags == MANAGED
    (tagging,) = fake.requests_to("PUT", f"{WS}/models/{RUN_ID}-model/versions/2")
    assert tagging.body["properties"]["tags"] == MANAGED

    assert backend.get_output_model(f"{RUN_ID}-train") == model
    assert len(fake.requests_to("PUT", f"{WS}/models/.*")) == 1  # already tagged: no second write


def test_a_job_that_has_not_completed_has_no_output_model(backend: AzureFoundryBackend, fake: FakeFoundry) -> None:
    backend.submit_job(training_request())
    fake.set_job_status(f"{RUN_ID}-train", "Failed")
    with pytest.raises(PermanentError, match="no output model: it is failed"):
        backend.get_output_model(f"{RUN_ID}-train")


# --- deployments -----------------------------------------------------------------------------------------------


def test_deployment_creates_a_serverless_endpoint_for_the_workspace_model(
    backend: AzureFoundryBackend, fake: FakeFoundry
) -> None:
    model = completed_model(backend, fake)
    status = backend.create_deployment(DeploymentRequest(name="phi3-xbox-v2", model=model, tags={"alias": "xbox"}))
    assert status.state is DeploymentState.PROVISIONING
    assert status.scoring_uri is None
    (put,) = fake.requests_to("PUT", f"{WS}/serverlessEndpoints/phi3-xbox-v2")
    assert put.body["location"] == LOCATION
    assert put.body["sku"] == {"name": "Consumption"}
    assert put.body["properties"]["modelSettings"]["modelId"] == model.uri
    assert put.body["tags"] == MANAGED | {"alias": "xbox"}
    # polling=False: no thread keeps polling the endpoint after the PUT.
    assert fake.calls[-1].method == "PUT"


def test_a_deployment_that_exists_is_returned_not_created_again(
    backend: AzureFoundryBackend, fake: FakeFoundry
) -> None:
    model = completed_model(backend, fake)
    request = DeploymentRequest(name="phi3-xbox-v2", model=model)
    backend.create_deployment(request)
    fake.endpoints["phi3-xbox-v2"]["properties"]["provisioningState"] = "Succeeded"
    again = backend.create_deployment(request)
    assert again.state is DeploymentState.SUCCEEDED
    assert len(fake.requests_to("PUT", f"{WS}/serverlessEndpoints/.*")) == 1


def test_a_long_deployment_name_maps_to_one_endpoint_and_keeps_its_name(
    backend: AzureFoundryBackend, fake: FakeFoundry
) -> None:
    model = completed_model(backend, fake)
    name = f"{RUN_ID}-deployment-of-the-xbox-family"
    backend.create_deployment(DeploymentRequest(name=name, model=model))
    azure_name = endpoint_name(name)
    assert azure_name != name
    assert len(fake.requests_to("PUT", f"{WS}/serverlessEndpoints/{azure_name}")) == 1
    assert backend.get_deployment(name).name == name
    assert [d.name for d in backend.list_managed_deployments("xbox")] == [name]


def test_provisioning_state_and_scoring_uri(backend: AzureFoundryBackend, fake: FakeFoundry) -> None:
    model = completed_model(backend, fake)
    backend.create_deployment(DeploymentRequest(name="phi3-xbox-v2", model=model))
    assert backend.get_deployment("phi3-xbox-v2").state is DeploymentState.PROVISIONING
    fake.endpoints["phi3-xbox-v2"]["properties"]["provisioningState"] = "Succeeded"
    ready = backend.get_deployment("phi3-xbox-v2")
    assert ready.state is DeploymentState.SUCCEEDED
    assert ready.scoring_uri == f"https://phi3-xbox-v2.{LOCATION}.models.ai.azure.com"
    assert ready.model == ModelRef(name=model.name, version=model.version, uri=model.uri)
    assert ready.created_at is not None
    fake.endpoints["phi3-xbox-v2"]["properties"]["provisioningState"] = "Failed"
    assert backend.get_deployment("phi3-xbox-v2").state is DeploymentState.FAILED
    assert backend.get_deployment("never-created").state is DeploymentState.NOT_FOUND


def test_a_model_uri_that_is_not_a_workspace_model_is_refused(backend: AzureFoundryBackend, fake: FakeFoundry) -> None:
    registry_model = ModelRef(
        name="Phi-3-mini-4k-instruct",
        version="15",
        uri="azureml://registries/azureml/models/Phi-3-mini-4k-instruct/versions/15",
    )
    with pytest.raises(PermanentError, match="not a workspace model id"):
        backend.create_deployment(DeploymentRequest(name="phi3-base", model=registry_model))
    assert fake.requests_to("PUT", f"{WS}/serverlessEndpoints/.*") == []


def test_delete_starts_the_deletion_and_a_missing_endpoint_is_fine(
    backend: AzureFoundryBackend, fake: FakeFoundry
) -> None:
    fake.add_endpoint("phi3-xbox-v1", MANAGED)
    backend.delete_deployment("phi3-xbox-v1")
    assert backend.get_deployment("phi3-xbox-v1").state is DeploymentState.DELETING
    backend.delete_deployment("never-existed")
    fake.fail("DELETE", f"{WS}/serverlessEndpoints/gone-already", 404)
    backend.delete_deployment("gone-already")
    assert len(fake.requests_to("DELETE", f"{WS}/serverlessEndpoints/.*")) == 3


def test_only_this_services_endpoints_of_the_family_are_listed(backend: AzureFoundryBackend, fake: FakeFoundry) -> None:
    fake.add_endpoint("phi3-xbox-v1", MANAGED)
    fake.add_endpoint("phi3-halo-v1", MANAGED | {"family": "halo"})
    fake.add_endpoint("hand-made", {"family": "xbox"})
    assert [d.name for d in backend.list_managed_deployments("xbox")] == ["phi3-xbox-v1"]


# --- keys ------------------------------------------------------------------------------------------------------


def test_the_key_is_a_secret_and_reaches_no_log(
    backend: AzureFoundryBackend, fake: FakeFoundry, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.add_endpoint("phi3-xbox-v2", MANAGED)
    key = backend.get_deployment_key("phi3-xbox-v2")
    assert key.get_secret_value() == fake.keys["primaryKey"]
    assert fake.keys["primaryKey"] not in repr(key)
    assert fake.keys["primaryKey"] not in str(key)
    (call,) = fake.requests_to("POST", f"{WS}/serverlessEndpoints/phi3-xbox-v2/listKeys")
    assert call.body is None
    for secret in fake.keys.values():
        assert secret not in caplog.text


def test_failures_reading_the_key_do_not_show_it(backend: AzureFoundryBackend, fake: FakeFoundry) -> None:
    fake.add_endpoint("phi3-xbox-v2", MANAGED)
    fake.fail("POST", f"{WS}/serverlessEndpoints/phi3-xbox-v2/listKeys", 503)
    with pytest.raises(TransientError) as raised:
        backend.get_deployment_key("phi3-xbox-v2")
    for secret in fake.keys.values():
        assert secret not in str(raised.value)
    with pytest.raises(PermanentError, match="HTTP 404"):
        backend.get_deployment_key("unknown-endpoint")


# --- models ----------------------------------------------------------------------------------------------------


def test_managed_models_of_a_family_are_listed_and_archived(backend: AzureFoundryBackend, fake: FakeFoundry) -> None:
    fake.add_model("ft-xbox-a", "1", MANAGED)
    fake.add_model("ft-xbox-a", "2", MANAGED)
    fake.add_model("ft-halo", "1", MANAGED | {"family": "halo"})
    fake.add_model("someone-elses", "1", {"family": "xbox"})
    listed = backend.list_managed_models("xbox")
    assert sorted((m.name, m.version) for m in listed) == [("ft-xbox-a", "1"), ("ft-xbox-a", "2")]
    assert all(m.uri.startswith(f"azureml://locations/{LOCATION}/workspaces/{WORKSPACE_ID}/models/") for m in listed)

    backend.archive_model("ft-xbox-a", "1")
    (put,) = fake.requests_to("PUT", f"{WS}/models/ft-xbox-a/versions/1")
    assert put.body["properties"]["isArchived"] is True
    assert [(m.name, m.version) for m in backend.list_managed_models("xbox")] == [("ft-xbox-a", "2")]
    backend.archive_model("ft-xbox-a", "1")  # twice: fine
    backend.archive_model("never-registered", "7")  # missing: fine


# --- faults ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 429, 503])
def test_throttling_and_server_errors_are_transient(
    backend: AzureFoundryBackend, fake: FakeFoundry, status: int
) -> None:
    fake.fail("GET", f"{WS}/jobs/some-job", status)
    with pytest.raises(TransientError, match=f"reading job 'some-job': HTTP {status} Injected: injected"):
        backend.get_job("some-job")


def test_no_answer_at_all_is_transient(backend: AzureFoundryBackend, fake: FakeFoundry) -> None:
    fake.fail("GET", f"{WS}/serverlessEndpoints/phi3-xbox-v2", None)
    with pytest.raises(TransientError, match="no answer from Azure"):
        backend.get_deployment("phi3-xbox-v2")


@pytest.mark.parametrize(("status", "says"), [(400, "HTTP 400 Injected: injected"), (401, "Azure AI Developer role")])
def test_client_errors_are_permanent_and_say_what_failed(
    backend: AzureFoundryBackend, fake: FakeFoundry, status: int, says: str
) -> None:
    fake.fail("PUT", f"{WS}/jobs/{RUN_ID}-train", status)
    with pytest.raises(PermanentError, match=f"submitting job '{RUN_ID}-train'") as raised:
        backend.submit_job(training_request())
    assert says in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_registry_outage_is_transient_and_nothing_is_submitted(
    backend: AzureFoundryBackend, fake: FakeFoundry
) -> None:
    fake.fail("GET", r".*/registries/azureml/models/Phi-3-mini-4k-instruct/versions", 503)
    with pytest.raises(TransientError, match="resolving the latest version of 'Phi-3-mini-4k-instruct'"):
        backend.submit_job(training_request())
    assert fake.requests_to("PUT", f"{WS}/jobs/.*") == []
