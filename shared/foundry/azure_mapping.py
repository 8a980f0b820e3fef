"""Pure translations between the port's requests and Azure AI Foundry's names, ids and parameters.

No SDK call here: what the adapter sends is decided by these functions, so they are tested directly.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Final

from shared import names
from shared.errors import PermanentError
from shared.foundry.port import ModelRef, TrainingRequest

# Azure ML asset/job names: start alphanumeric, then letters, digits, '-' and '_' (255 at most).
_JOB_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$")
_ASSET_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")
# Serverless endpoints: 3-32 characters, letters, digits and '-', starting with a letter, not ending in '-'.
_ENDPOINT_NAME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,30}[A-Za-z0-9]$")
_ENDPOINT_MAX: Final = 32
_WORKSPACE_MODEL_ID: Final = re.compile(
    r"^azureml://locations/(?P<location>[^/]+)/workspaces/(?P<workspace>[^/]+)"
    r"/models/(?P<name>[^/]+)/versions/(?P<version>[^/]+)$"
)

DEPLOYMENT_NAME_TAG: Final = "deployment"
"""Tag holding the port's deployment name when Azure needed a shorter endpoint name."""


def check_job_name(name: str) -> str:
    """`name` when Azure ML accepts it as a job name, else a `PermanentError` saying why."""
    if not _JOB_NAME.match(name):
        raise PermanentError(
            f"job name {name!r} is not valid in Azure ML: use letters, digits, '-' and '_' "
            "(starting with a letter or digit, 255 characters at most)"
        )
    return name


def check_asset_name(name: str, what: str) -> str:
    """`name` when Azure ML accepts it as a data/model asset name, else a `PermanentError`."""
    if not _ASSET_NAME.match(name):
        raise PermanentError(
            f"{what} name {name!r} is not valid in Azure ML: use letters, digits, '-', '_' and '.' "
            "(starting with a letter or digit, 255 characters at most)"
        )
    return name


def endpoint_name(name: str) -> str:
    """The serverless endpoint name for the port's deployment `name`; the same name always gives the same one.

    A name Azure accepts is kept. Any other (too long, wrong characters) becomes a readable prefix plus
    8 hex digits of its SHA-256, so two long names that share a prefix still get different endpoints.
    """
    if _ENDPOINT_NAME.match(name):
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    slug = re.sub(r"^[^a-z]+", "", slug)
    prefix = (slug or "ep")[: _ENDPOINT_MAX - len(digest) - 1].rstrip("-")
    return f"{prefix}-{digest}"


def format_learning_rate(value: float) -> str:
    """A learning rate as a plain decimal string (no exponent), as the MaaS hyperparameters take it."""
    text = f"{value:.12f}".rstrip("0").rstrip(".")
    if text in {"", "0"}:
        raise PermanentError(f"learning rate {value!r} is too small to send (below 1e-12)")
    return text


def hyperparameters(request: TrainingRequest) -> dict[str, str]:
    """The request's options under the Phi-3 models-as-a-service hyperparameter names (all strings)."""
    return {
        "num_train_epochs": str(request.epochs),
        "per_device_train_batch_size": str(request.batch_size),
        "learning_rate": format_learning_rate(request.learning_rate),
    }


def managed_tags(*, family: str, run_id: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The tags marking a resource as this service's: `extra`, then managed-by, family and run-id on top."""
    return {
        **(extra or {}),
        names.MANAGED_BY_TAG: names.MANAGED_BY_VALUE,
        names.FAMILY_TAG: family,
        names.RUN_ID_TAG: run_id,
    }


def is_managed(tags: Mapping[str, str] | None, family: str | None = None) -> bool:
    """Whether `tags` mark a resource as this service's (and of `family`, when given)."""
    tags = tags or {}
    if tags.get(names.MANAGED_BY_TAG) != names.MANAGED_BY_VALUE:
        return False
    return family is None or tags.get(names.FAMILY_TAG) == family


def registry_model_id(registry: str, name: str, version: str) -> str:
    """The id of a base model version in a registry (what `create_finetuning_job(model=...)` takes)."""
    return f"azureml://registries/{registry}/models/{name}/versions/{version}"


def workspace_model_id(location: str, workspace_id: str, name: str, version: str) -> str:
    """The id of a workspace model version (what a `ServerlessEndpoint(model_id=...)` takes)."""
    return f"azureml://locations/{location}/workspaces/{workspace_id}/models/{name}/versions/{version}"


def model_ref_from_id(model_id: str | None, tags: Mapping[str, str] | None = None) -> ModelRef | None:
    """The `ModelRef` named by a workspace model id, or None when the id has another shape."""
    match = _WORKSPACE_MODEL_ID.match(model_id or "")
    if match is None:
        return None
    return ModelRef(name=match["name"], version=match["version"], uri=model_id or "", tags=dict(tags or {}))
