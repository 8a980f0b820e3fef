"""The validation report: findings, statistics and a cost estimate, as pydantic models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, computed_field


class Finding(BaseModel):
    """One error or warning: a stable code, the 1-based line it applies to (None: the whole file), a message."""

    model_config = ConfigDict(frozen=True)

    code: str
    line: int | None = None
    message: str


class Distribution(BaseModel):
    """Summary of a list of numbers (all zero when the list is empty)."""

    count: int = 0
    min: int = 0
    max: int = 0
    mean: float = 0.0
    p50: int = 0
    p90: int = 0
    p95: int = 0


class DatasetStats(BaseModel):
    """What the file holds, counted over the examples that passed the format checks."""

    bytes_read: int = Field(0, description="Bytes read from the file (all of it unless reading stopped early).")
    lines: int = Field(0, description="Lines read, blank lines included.")
    examples: int = Field(0, description="Non-blank lines (each one example).")
    valid_examples: int = Field(0, description="Examples that passed every per-example check.")
    messages_per_example: Distribution = Field(default_factory=Distribution)
    tokens_per_example: Distribution = Field(default_factory=Distribution)
    assistant_tokens_per_example: Distribution = Field(default_factory=Distribution)
    total_tokens: int = Field(0, description="Tokens of all counted examples, chat template included.")
    billable_tokens: int = Field(0, description="total_tokens x epochs.")
    epochs: int = 1


class CostEstimate(BaseModel):
    """An estimate of what training and hosting cost, from the configured price table (not a quote)."""

    label: str = "estimate"
    currency: str = "USD"
    billable_tokens: int = 0
    price_training_per_1k_tokens: float = 0.0
    training: float = Field(0.0, description="billable_tokens / 1000 x price_training_per_1k_tokens.")
    price_hosting_per_hour: float = 0.0
    hosting_per_day: float = Field(0.0, description="24 x price_hosting_per_hour, for one deployment.")
    token_count_exact: bool = Field(False, description="False: token counts come from an estimator.")


class ValidationReport(BaseModel):
    """Everything a validation run found about one file.

    `errors` and `warnings` list at most `max_findings_per_code` findings of each code; `error_counts` and
    `warning_counts` give the full number per code, so `suppressed_errors`/`suppressed_warnings` say how
    many were counted but not listed.
    """

    valid: bool
    base_model: str
    context_length: int
    errors: list[Finding] = Field(default_factory=list)
    warnings: list[Finding] = Field(default_factory=list)
    error_counts: dict[str, int] = Field(default_factory=dict)
    warning_counts: dict[str, int] = Field(default_factory=dict)
    stats: DatasetStats = Field(default_factory=DatasetStats)
    cost: CostEstimate = Field(default_factory=CostEstimate)
    token_count_exact: bool = False
    tokenizer: str = Field("", description="Which token counter produced the counts.")
    stopped_early: bool = Field(False, description="Reading stopped before the end (size limit, binary data).")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def suppressed_errors(self) -> dict[str, int]:
        """Per code, how many errors were counted but not listed."""
        return _suppressed(self.error_counts, self.errors)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def suppressed_warnings(self) -> dict[str, int]:
        """Per code, how many warnings were counted but not listed."""
        return _suppressed(self.warning_counts, self.warnings)

    def error_codes(self) -> set[str]:
        """The distinct error codes found."""
        return set(self.error_counts)

    def warning_codes(self) -> set[str]:
        """The distinct warning codes found."""
        return set(self.warning_counts)


def _suppressed(counts: dict[str, int], listed: list[Finding]) -> dict[str, int]:
    shown: dict[str, int] = {}
    for finding in listed:
        shown[finding.code] = shown.get(finding.code, 0) + 1
    return {code: total - shown.get(code, 0) for code, total in counts.items() if total > shown.get(code, 0)}
