"""The Phi-3 base models this service can fine-tune, with their context lengths."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from shared.errors import InvalidOptionsError


class BaseModelSpec(BaseModel):
    """A fine-tunable base model: its catalog name, registry name and context length in tokens."""

    model_config = ConfigDict(frozen=True)

    name: str
    registry_name: str
    context_length: int


PHI3_CATALOG: dict[str, BaseModelSpec] = {
    spec.name: spec
    for spec in (
        BaseModelSpec(name="Phi-3-mini-4k-instruct", registry_name="Phi-3-mini-4k-instruct", context_length=4096),
        BaseModelSpec(name="Phi-3-mini-128k-instruct", registry_name="Phi-3-mini-128k-instruct", context_length=131072),
        BaseModelSpec(name="Phi-3-medium-4k-instruct", registry_name="Phi-3-medium-4k-instruct", context_length=4096),
        BaseModelSpec(
            name="Phi-3-medium-128k-instruct", registry_name="Phi-3-medium-128k-instruct", context_length=131072
        ),
        BaseModelSpec(name="Phi-3.5-mini-instruct", registry_name="Phi-3.5-mini-instruct", context_length=131072),
    )
}

DEFAULT_BASE_MODEL = "Phi-3-mini-4k-instruct"


def base_model_spec(name: str) -> BaseModelSpec:
    """Look up a base model by name (case-insensitive), with a clear error listing the choices."""
    for spec in PHI3_CATALOG.values():
        if spec.name.lower() == name.lower():
            return spec
    choices = ", ".join(PHI3_CATALOG)
    raise InvalidOptionsError(f"unknown base model {name!r}; choose one of: {choices}")
