"""What a validation run checks against: limits, the base model's context length, prices."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shared.catalog import base_model_spec
from shared.settings import Settings


class ValidationConfig(BaseModel):
    """Limits and prices one validation run applies; build it with `from_settings`."""

    model_config = ConfigDict(frozen=True)

    base_model: str = Field(description="Catalog name of the base model being fine-tuned.")
    context_length: int = Field(ge=1, description="The base model's context length in tokens.")
    epochs: int = Field(3, ge=1, description="Training epochs (billable tokens = tokens x epochs).")
    min_examples: int = Field(10, ge=1, description="Fewest examples the file may have.")
    max_file_bytes: int = Field(512 * 1024 * 1024, ge=1, description="Largest file accepted.")
    max_line_bytes: int = Field(4 * 1024 * 1024, ge=1, description="Longest single line accepted.")
    tokenizer_path: str | None = Field(None, description="A Phi-3 tokenizer.json: exact counts when set.")
    price_training_per_1k_tokens: float = Field(0.003, ge=0, description="USD per 1K training tokens.")
    price_hosting_per_hour: float = Field(0.8, ge=0, description="USD per hour of a deployment.")
    near_limit_ratio: float = Field(0.9, gt=0, le=1, description="Warn above this share of the context.")
    short_reply_words: int = Field(3, ge=0, description="Warn on assistant replies with fewer words.")
    secrets_are_errors: bool = Field(True, description="Leaked secrets are errors (else warnings).")
    max_findings_per_code: int = Field(20, ge=0, description="Findings listed per code; the rest are counted.")

    def for_validation_file(self) -> ValidationConfig:
        """The same checks for a validation file, which is not trained on: one example is enough."""
        return self.model_copy(update={"min_examples": 1})

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        base_model: str | None = None,
        epochs: int | None = None,
        min_examples: int | None = None,
    ) -> ValidationConfig:
        """The config for one file: limits and prices from settings, context length from the catalog.

        Raises `InvalidOptionsError` when the base model is not in the catalog.
        """
        spec = base_model_spec(base_model or settings.default_base_model)
        return cls(
            base_model=spec.name,
            context_length=spec.context_length,
            epochs=epochs if epochs is not None else settings.default_epochs,
            min_examples=min_examples if min_examples is not None else settings.min_examples,
            max_file_bytes=settings.max_file_bytes,
            max_line_bytes=settings.max_line_bytes,
            tokenizer_path=settings.phi3_tokenizer_path,
            price_training_per_1k_tokens=settings.price_training_per_1k_tokens,
            price_hosting_per_hour=settings.price_hosting_per_hour,
        )
