from __future__ import annotations

import pytest
from azure.ai.ml.exceptions import ErrorTarget, ValidationException
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.identity import CredentialUnavailableError

from shared.errors import PermanentError, TransientError
from shared.foundry.azure_errors import is_not_found, translate, translated_errors


def test_read_time_outs_and_connection_failures_are_transient() -> None:
    assert isinstance(translate("reading job 'j'", ServiceResponseError("read timed out")), TransientError)
    assert isinstance(translate("reading job 'j'", ServiceRequestError("connection refused")), TransientError)


def test_a_missing_credential_points_at_the_role_and_is_permanent() -> None:
    error = translate("submitting job 'j'", CredentialUnavailableError("no managed identity endpoint"))
    assert isinstance(error, PermanentError)
    assert "Azure AI Developer" in str(error)


def test_sdk_validation_errors_are_permanent_with_their_message_on_one_line() -> None:
    sdk_error = ValidationException(
        message="Asset Phi-3-x does not exist\nin registry azureml.",
        no_personal_data_message="asset missing",
        target=ErrorTarget.MODEL,
    )
    error = translate("resolving 'Phi-3-x'", sdk_error)
    assert isinstance(error, PermanentError)
    assert str(error) == "resolving 'Phi-3-x': Asset Phi-3-x does not exist in registry azureml."


def test_http_errors_without_a_body_still_say_their_status() -> None:
    error = HttpResponseError(message="Service Unavailable")
    error.status_code = 503
    translated = translate("listing models", error)
    assert isinstance(translated, TransientError)
    assert str(translated).startswith("listing models: HTTP 503")


def test_not_found_is_recognised_by_type_or_status() -> None:
    assert is_not_found(ResourceNotFoundError("gone"))
    other = HttpResponseError(message="gone")
    other.status_code = 404
    assert is_not_found(other)
    assert not is_not_found(ClientAuthenticationError("no"))


def test_the_context_manager_chains_the_sdk_error_and_lets_ours_through() -> None:
    with pytest.raises(TransientError) as raised, translated_errors("reading job 'j'"):
        raise ServiceResponseError("read timed out")
    assert isinstance(raised.value.__cause__, ServiceResponseError)
    with pytest.raises(PermanentError, match="ours"), translated_errors("anything"):
        raise PermanentError("ours")
