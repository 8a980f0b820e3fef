"""The foundry's configuration (from `Settings`) and its fault injection (from `LOCAL_FOUNDRY_FAULT_*`)."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.settings import Settings

Patterns = Annotated[list[str], NoDecode]


class FoundryConfig(BaseModel):
    """How the local foundry trains and serves; see the `local_foundry_*` settings for each knob."""

    base_model_path: str | None = None
    # Measured on the Xbox set (171 training examples, seeded split): held-out loss levels off after 8-10
    # epochs; at 5e-3 the model collapsed into repeating one phrase when trained for 10 epochs, 3e-3 did not.
    min_epochs: int = Field(10, ge=1)
    min_learning_rate: float = Field(3e-3, ge=0)
    max_concurrent_jobs: int = Field(1, ge=1)
    max_job_attempts: int = Field(2, ge=1)
    provision_seconds: float = Field(1.0, ge=0)
    seed: int = 0
    max_seq_len: int = Field(1024, ge=16)
    # On the Xbox set (10 epochs at 3e-3, training in 21 s on an idle core): 512 tokens take held-out loss
    # from 6.28 to 3.03 (0.48x), with ROUGE-L 0.15 on held-out prompts and 8 of 171 training replies exact;
    # 1024 tokens reach only 0.54x; 400 tokens reach 0.43x but train 26 s, with ROUGE-L 0.10 and 4 exact.
    vocab_size: int = Field(512, ge=270)
    max_completion_tokens: int = Field(256, ge=1)

    @classmethod
    def from_settings(cls, settings: Settings) -> FoundryConfig:
        """The configuration the settings describe."""
        return cls(
            base_model_path=settings.local_foundry_base_model_path,
            min_epochs=settings.local_foundry_min_epochs,
            min_learning_rate=settings.local_foundry_min_learning_rate,
            max_concurrent_jobs=settings.local_foundry_max_concurrent_jobs,
            max_job_attempts=settings.local_foundry_max_job_attempts,
            provision_seconds=settings.local_foundry_provision_seconds,
        )

    def effective_epochs(self, requested: int) -> int:
        """Epochs actually run: the tiny random model needs `min_epochs` to learn; real weights get the request."""
        return requested if self.base_model_path else max(requested, self.min_epochs)

    def effective_learning_rate(self, requested: float) -> float:
        """Learning rate actually used, by the same rule as `effective_epochs`."""
        return requested if self.base_model_path else max(requested, self.min_learning_rate)


class FoundryFaults(BaseSettings):
    """Failures to inject, for tests. Each is a list of name patterns (`*` = all), or comma-separated in env.

    Env: `LOCAL_FOUNDRY_FAULT_FAIL_JOBS`, `..._STUCK_DEPLOYMENTS`, `..._FAILED_DEPLOYMENTS`,
    `..._ENDPOINT_ERRORS`, `..._ENDPOINT_GARBAGE`.
    """

    model_config = SettingsConfigDict(env_prefix="LOCAL_FOUNDRY_FAULT_", case_sensitive=False, extra="ignore")

    fail_jobs: Patterns = Field(default_factory=list, description="Jobs whose training fails after one epoch.")
    stuck_deployments: Patterns = Field(default_factory=list, description="Deployments that never provision.")
    failed_deployments: Patterns = Field(default_factory=list, description="Deployments whose provisioning fails.")
    endpoint_errors: Patterns = Field(default_factory=list, description="Endpoints that answer HTTP 500.")
    endpoint_garbage: Patterns = Field(default_factory=list, description="Endpoints that answer 200 with non-JSON.")

    @field_validator("*", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @staticmethod
    def matches(patterns: list[str], name: str) -> bool:
        """Whether `name` matches one of the patterns."""
        return any(fnmatchcase(name, pattern) for pattern in patterns)
