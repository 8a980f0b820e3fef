from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import PermanentError
from shared.foundry.azure_mapping import (
    check_job_name,
    endpoint_name,
    format_learning_rate,
    hyperparameters,
    is_managed,
    managed_tags,
    model_ref_from_id,
    workspace_model_id,
)
from shared.foundry.port import TrainingRequest

ENDPOINT_RULE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,30}[A-Za-z0-9]$")


def request(**changes: object) -> TrainingRequest:
    fields: dict[str, object] = {
        "job_name": "ft-xbox-0123456789ab-train",
        "run_id": "ft-xbox-0123456789ab",
        "family": "xbox",
        "base_model": "Phi-3-mini-4k-instruct",
        "training_data_uri": "azureml:t:1",
        "validation_data_uri": "azureml:v:1",
        "epochs": 3,
        "learning_rate": 2e-4,
        "batch_size": 4,
        "output_model_prefix": "ft-xbox-0123456789ab",
    }
    return TrainingRequest.model_validate(fields | changes)


def test_options_map_to_the_maas_hyperparameter_names_as_strings() -> None:
    assert hyperparameters(request()) == {
        "num_train_epochs": "3",
        "per_device_train_batch_size": "4",
        "learning_rate": "0.0002",
    }


@pytest.mark.parametrize(("value", "text"), [(2e-4, "0.0002"), (1e-5, "0.00001"), (0.1, "0.1"), (1.0, "1")])
def test_learning_rate_is_a_plain_decimal(value: float, text: str) -> None:
    assert format_learning_rate(value) == text


def test_a_learning_rate_too_small_to_write_is_refused() -> None:
    with pytest.raises(PermanentError, match="too small"):
        format_learning_rate(1e-15)


def test_managed_tags_cannot_be_overridden_by_extra_tags() -> None:
    tags = managed_tags(family="xbox", run_id="r1", extra={"managed-by": "someone-else", "team": "support"})
    assert tags == {"managed-by": "phi-finetune-orchestrator", "family": "xbox", "run-id": "r1", "team": "support"}
    assert is_managed(tags, "xbox")
    assert not is_managed(tags, "halo")
    assert not is_managed({"family": "xbox"}, "xbox")
    assert not is_managed(None)


def test_valid_endpoint_names_are_kept() -> None:
    assert endpoint_name("phi3-xbox-prod") == "phi3-xbox-prod"


@given(st.text(min_size=1, max_size=120))
def test_any_deployment_name_gives_a_valid_stable_endpoint_name(name: str) -> None:
    azure_name = endpoint_name(name)
    assert ENDPOINT_RULE.match(azure_name), azure_name
    assert endpoint_name(name) == azure_name


def test_long_names_sharing_a_prefix_get_different_endpoints() -> None:
    first = endpoint_name("ft-xbox-support-conversations-2026-0123456789ab")
    second = endpoint_name("ft-xbox-support-conversations-2026-ba9876543210")
    assert first != second
    assert first.startswith("ft-xbox-support")
    assert len(first) <= 32


def test_job_names_azure_refuses_are_a_permanent_error() -> None:
    assert check_job_name("ft-xbox_1") == "ft-xbox_1"
    with pytest.raises(PermanentError, match="not valid in Azure ML"):
        check_job_name("ft xbox/1")


def test_workspace_model_ids_round_trip() -> None:
    model_id = workspace_model_id("eastus2", "ws-guid", "ft-xbox", "3")
    assert model_id == "azureml://locations/eastus2/workspaces/ws-guid/models/ft-xbox/versions/3"
    ref = model_ref_from_id(model_id, {"family": "xbox"})
    assert ref is not None
    assert (ref.name, ref.version, ref.uri, ref.tags) == ("ft-xbox", "3", model_id, {"family": "xbox"})
    assert model_ref_from_id("azureml://registries/azureml/models/Phi-3-mini-4k-instruct/versions/15") is None
    assert model_ref_from_id(None) is None
