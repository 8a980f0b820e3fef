"""`LocalFoundryBackend`: the `FineTuningBackend` port over the devhost's local foundry (its HTTP API).

The local foundry (`devhost/local_foundry`) really fine-tunes on the CPU; this adapter only speaks HTTP
to it with httpx, so it imports nothing heavy (no torch) and runs wherever `shared/` runs.
"""

from __future__ import annotations

from typing import Any, Self
from urllib.parse import quote

import httpx
from pydantic import BaseModel, SecretStr, TypeAdapter

from shared import names
from shared.errors import PermanentError, TransientError
from shared.foundry.port import (
    DeploymentRequest,
    DeploymentState,
    DeploymentStatus,
    JobStatus,
    ModelRef,
    TrainingRequest,
)

_RETRYABLE = {408, 429, 500, 502, 503, 504}
_DEPLOYMENTS = TypeAdapter(list[DeploymentStatus])
_MODELS = TypeAdapter(list[ModelRef])


class FoundryNotFoundError(PermanentError):
    """The local foundry has no job, model or deployment of that name."""


class LocalFoundryBackend:
    """Fine-tuning and serving on the local foundry at `base_url` (e.g. `http://127.0.0.1:7081`).

    `management_key` (the foundry's, `LOCAL_FOUNDRY_KEY`) is sent as a bearer token with every call.
    """

    def __init__(
        self,
        base_url: str,
        management_key: SecretStr | None = None,
        timeout_seconds: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ):
        headers = {"Authorization": f"Bearer {management_key.get_secret_value()}"} if management_key else {}
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_seconds, transport=transport
        )

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, body: BaseModel | dict[str, Any] | None = None) -> httpx.Response:
        content = body.model_dump_json() if isinstance(body, BaseModel) else None
        payload = body if isinstance(body, dict) else None
        headers = {"Content-Type": "application/json"} if content is not None else None
        try:
            response = self._client.request(method, path, content=content, json=payload, headers=headers)
        except httpx.TimeoutException as error:
            raise TransientError(f"local foundry: {method} {path} timed out ({type(error).__name__})") from None
        except httpx.TransportError as error:
            raise TransientError(f"local foundry: {method} {path} failed ({type(error).__name__})") from None
        if response.status_code in _RETRYABLE:
            raise TransientError(f"local foundry: {method} {path} answered {response.status_code}: {_reason(response)}")
        if response.status_code == 404:
            raise FoundryNotFoundError(f"local foundry: {_reason(response)}")
        if response.status_code >= 400:
            raise PermanentError(
                f"local foundry: {method} {path} refused ({response.status_code}): {_reason(response)}"
            )
        return response

    def register_dataset(self, name: str, blob_uri: str) -> str:
        """Register the file under `name` (first registration wins); the URI to train on."""
        return str(self._call("POST", "/api/datasets", {"name": name, "uri": blob_uri}).json()["uri"])

    def submit_job(self, request: TrainingRequest) -> JobStatus:
        """Submit the job, or get the existing one of that name. Adds the managed-by/family/run-id tags."""
        tags = {
            names.MANAGED_BY_TAG: names.MANAGED_BY_VALUE,
            names.FAMILY_TAG: request.family,
            names.RUN_ID_TAG: request.run_id,
            **request.tags,
        }
        response = self._call("POST", "/api/jobs", request.model_copy(update={"tags": tags}))
        return JobStatus.model_validate_json(response.content)

    def get_job(self, job_name: str) -> JobStatus:
        """The job's normalised status, with progress and the loss curve."""
        return JobStatus.model_validate_json(self._call("GET", f"/api/jobs/{_segment(job_name)}").content)

    def cancel_job(self, job_name: str) -> JobStatus:
        """Stop the job (its process ends); a job already ended is returned unchanged."""
        return JobStatus.model_validate_json(self._call("POST", f"/api/jobs/{_segment(job_name)}/cancel").content)

    def get_output_model(self, job_name: str) -> ModelRef:
        """The model version a succeeded job registered."""
        return ModelRef.model_validate_json(self._call("GET", f"/api/jobs/{_segment(job_name)}/model").content)

    def create_deployment(self, request: DeploymentRequest) -> DeploymentStatus:
        """Start provisioning the deployment, or get the existing one of that name.

        The deployment carries the managed-by tag, and its model's family and run-id tags unless given.
        """
        inherited: dict[str, str] = {
            key: request.model.tags[key] for key in (names.FAMILY_TAG, names.RUN_ID_TAG) if key in request.model.tags
        }
        tags: dict[str, str] = {names.MANAGED_BY_TAG: names.MANAGED_BY_VALUE, **inherited, **request.tags}
        body = request.model_copy(update={"tags": tags})
        return DeploymentStatus.model_validate_json(self._call("POST", "/api/deployments", body).content)

    def get_deployment(self, name: str) -> DeploymentStatus:
        """The deployment's status; `NOT_FOUND` when there is none."""
        try:
            response = self._call("GET", f"/api/deployments/{_segment(name)}")
        except FoundryNotFoundError:
            return DeploymentStatus(name=name, state=DeploymentState.NOT_FOUND)
        return DeploymentStatus.model_validate_json(response.content)

    def delete_deployment(self, name: str) -> None:
        """Delete the deployment; one that does not exist is not an error."""
        try:
            self._call("DELETE", f"/api/deployments/{_segment(name)}")
        except FoundryNotFoundError:
            return

    def get_deployment_key(self, name: str) -> SecretStr:
        """The deployment's key (for the smoke test only)."""
        response = self._call("POST", f"/api/deployments/{_segment(name)}/keys")
        return SecretStr(str(response.json()["key"]))

    def list_managed_deployments(self, family: str) -> list[DeploymentStatus]:
        """Deployments tagged managed-by this service and with this family."""
        found = _DEPLOYMENTS.validate_json(self._call("GET", "/api/deployments").content)
        return [deployment for deployment in found if _managed(deployment.tags, family)]

    def list_managed_models(self, family: str) -> list[ModelRef]:
        """Model versions tagged managed-by this service and with this family."""
        found = _MODELS.validate_json(self._call("GET", "/api/models").content)
        return [model for model in found if _managed(model.tags, family)]

    def archive_model(self, name: str, version: str) -> None:
        """Archive the model version; archiving twice is not an error."""
        self._call("POST", f"/api/models/{_segment(name)}/versions/{_segment(version)}/archive")


def _managed(tags: dict[str, str], family: str) -> bool:
    return tags.get(names.MANAGED_BY_TAG) == names.MANAGED_BY_VALUE and tags.get(names.FAMILY_TAG) == family


def _segment(value: str) -> str:
    return quote(value, safe="")


def _reason(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
        return str(error.get("message") or response.reason_phrase)
    except (ValueError, AttributeError):
        return response.reason_phrase
