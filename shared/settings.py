"""The one settings object of the service.

Every knob is an environment variable (an app setting in Azure) whose name is the field name in upper
case. The devhost sets them for the processes it starts; `README.md` lists them with their defaults.
Secrets are `SecretStr`, so they never appear in a repr, a log line or a report.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared import names
from shared.catalog import DEFAULT_BASE_MODEL
from shared.errors import ConfigurationError
from shared.smoketest import SmokePrompt
from shared.textscore import ScoreMetric

PHI3_FINE_TUNING_REGIONS = frozenset({"eastus2"})
BackendFaultKind = Literal["429", "503", "timeout"]
BACKEND_FAULT_KINDS: tuple[BackendFaultKind, ...] = ("429", "503", "timeout")


class Settings(BaseSettings):
    """Settings of the service, read from the environment."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    # Hosting
    durable_task_hub: str = Field("phifinetune", description="Durable Task hub name (host.json reads it too).")

    # Blob Storage: a connection string on the devhost, an account URL + managed identity in Azure.
    storage_connection_string: SecretStr | None = Field(
        None, description="Blob Storage connection string (devhost/Azurite only)."
    )
    storage_account_url: str | None = Field(
        None, description="Blob endpoint, e.g. https://<account>.blob.core.windows.net (Azure, identity auth)."
    )
    training_container: str = Field(names.TRAINING_CONTAINER, description="Container whose uploads start runs.")
    reports_container: str = Field(names.REPORTS_CONTAINER, description="Container for run reports.")
    state_container: str = Field(names.STATE_CONTAINER, description="Container for alias records.")
    storage_api_version: str = Field(
        "2025-11-05", description="Blob REST API version the client sends (one that Azurite 3.35 accepts too)."
    )
    storage_retry_total: int = Field(5, ge=0, le=20, description="Retries of a failed Blob Storage request.")
    storage_retry_initial_backoff_seconds: int = Field(
        1, ge=0, le=60, description="First Blob Storage retry delay; later ones grow exponentially."
    )
    storage_timeout_seconds: float = Field(60.0, gt=0, description="Blob Storage connect and read time-out.")
    storage_chunk_bytes: int = Field(
        4 * 1024 * 1024, ge=64 * 1024, le=100 * 1024 * 1024, description="Block and download chunk size in bytes."
    )

    # Service Bus: a connection string on the devhost, a namespace + managed identity in Azure.
    servicebus_connection_string: SecretStr | None = Field(
        None, description="Service Bus connection string (devhost broker only)."
    )
    servicebus_fully_qualified_namespace: str | None = Field(
        None, description="<namespace>.servicebus.windows.net (Azure, identity auth)."
    )
    events_topic: str = Field(names.EVENTS_TOPIC, description="Topic that receives the run's CloudEvents.")
    commands_queue: str = Field(names.COMMANDS_QUEUE, description="Queue of cancel/approve/reject/retry commands.")
    events_use_sessions: bool = Field(False, description="Send events with session_id = run id (ordered per run).")

    # Service Bus client behaviour (the SDK's own retry policy; no hand-written loops)
    servicebus_retry_total: int = Field(5, ge=0, le=20, description="Retries of a failed Service Bus operation.")
    servicebus_retry_backoff_max_seconds: float = Field(
        30.0, gt=0, description="Longest pause between Service Bus retries (exponential backoff)."
    )

    # Identity
    azure_client_id: str | None = Field(None, description="Client id of the user-assigned managed identity.")

    # Fine-tuning backend
    foundry_backend: Literal["local", "azure"] = Field("local", description="'azure' (AI Foundry) or 'local'.")
    local_foundry_url: str = Field("http://127.0.0.1:7081", description="Base URL of the devhost's local foundry.")
    local_foundry_key: SecretStr | None = Field(
        None, description="Management key of the local foundry (the devhost sets it; <data dir>/management/api.key)."
    )
    azure_subscription_id: str | None = Field(None, description="Subscription of the AI Foundry project.")
    azure_resource_group: str | None = Field(None, description="Resource group of the AI Foundry project.")
    azure_ai_project_name: str | None = Field(None, description="AI Foundry project (workspace) name.")
    azure_location: str = Field("eastus2", description="Region of the project; Phi-3 fine-tuning: eastus2 only.")

    # Local foundry (devhost only; see devhost/local_foundry). Defaults make the tiny model really learn.
    local_foundry_data_dir: str = Field(".devhost/foundry", description="Registry, jobs, models and keys.")
    local_foundry_base_model_path: str | None = Field(
        None, description="Folder of real Phi-3 weights + tokenizer (from_pretrained); else a tiny random Phi-3."
    )
    local_foundry_min_epochs: int = Field(
        10, ge=1, description="Fewest epochs the tiny random model trains (a run's epochs may be fewer)."
    )
    local_foundry_min_learning_rate: float = Field(
        3e-3, ge=0, description="Lowest learning rate the tiny random model trains with."
    )
    local_foundry_max_concurrent_jobs: int = Field(1, ge=1, description="Training processes run at once.")
    local_foundry_max_job_attempts: int = Field(
        2, ge=1, description="Starts of a job whose process died with the foundry before it is reported failed."
    )
    local_foundry_provision_seconds: float = Field(1.0, ge=0, description="How long a deployment provisions.")

    # Run defaults (each overridable per file by blob metadata ft_<option> or the POST /api/runs body)
    default_base_model: str = Field(DEFAULT_BASE_MODEL, description="Base model fine-tuned by default.")
    default_epochs: int = Field(3, ge=1, le=50, description="Training epochs.")
    default_learning_rate: float = Field(2e-4, gt=0, le=1, description="Learning rate.")
    default_batch_size: int = Field(4, ge=1, le=256, description="Per-device batch size.")
    default_validation_split: float = Field(0.2, gt=0, lt=0.5, description="Share held out when no file given.")
    default_require_approval: bool = Field(False, description="Wait for approve/reject before promoting.")
    default_max_training_hours: float = Field(24.0, gt=0, le=720, description="Training deadline in hours.")
    approval_timeout_hours: float = Field(72.0, gt=0, description="Waiting longer for approval rejects the run.")
    keep_previous: int = Field(1, ge=0, le=20, description="Deployments kept besides the current one.")

    # Validation
    min_examples: int = Field(10, ge=1, description="Fewest examples a training file may have.")
    max_file_bytes: int = Field(512 * 1024 * 1024, ge=1, description="Largest training file accepted.")
    max_line_bytes: int = Field(4 * 1024 * 1024, ge=1, description="Longest single JSONL line accepted.")
    phi3_tokenizer_path: str | None = Field(
        None, description="Path of a Phi-3 tokenizer.json for exact token counts (else an offline estimate)."
    )
    price_training_per_1k_tokens: float = Field(0.003, ge=0, description="USD per 1K training tokens (estimate).")
    price_hosting_per_hour: float = Field(0.8, ge=0, description="USD per hour of a deployment (estimate).")

    # Waiting
    poll_initial_seconds: float = Field(30.0, gt=0, description="First poll interval of training/deployment.")
    poll_max_seconds: float = Field(600.0, gt=0, description="Cap of the exponential poll backoff.")
    polls_per_generation: int = Field(
        16,
        ge=1,
        le=200,
        description="Polls before a monitor continues as new (16 keeps a generation under 100 events).",
    )
    deployment_timeout_minutes: float = Field(60.0, gt=0, description="Deadline for a deployment to provision.")

    # Smoke test of a new deployment (shared/smoketest.py)
    smoke_prompts: list[SmokePrompt] = Field(
        default_factory=lambda: [SmokePrompt(prompt="Hello! In one sentence, what can you help me with?")],
        description='JSON list of prompts, each a string or {"prompt", "system", "expect_regex"}.',
    )
    smoke_sample_size: int = Field(5, ge=0, le=100, description="Held-out validation examples sent as probes.")
    smoke_max_latency_ms: float = Field(30_000.0, gt=0, description="Slowest acceptable reply per probe (ms).")
    smoke_min_quality: float = Field(
        0.1, ge=0, le=1, description="Lowest mean score vs the reference answers of the held-out probes."
    )
    smoke_metric: ScoreMetric = Field("rouge_l", description="'rouge_l' or 'token_f1' (quality score).")
    smoke_max_tokens: int = Field(256, ge=1, le=4096, description="max_tokens of each probe.")
    smoke_temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature of each probe.")
    smoke_request_timeout_seconds: float = Field(60.0, gt=0, description="Read time-out of one probe call.")
    smoke_max_attempts: int = Field(3, ge=1, le=10, description="Attempts per probe on 429/5xx/time-outs.")

    # Telemetry
    applicationinsights_connection_string: SecretStr | None = Field(
        None, description="Azure Monitor connection string (enables the Azure Monitor exporter)."
    )
    otel_exporter_otlp_endpoint: str | None = Field(None, description="OTLP endpoint (enables the OTLP exporter).")
    telemetry_dir: str | None = Field(
        None,
        description="Directory for JSON-lines spans, metrics and logs when neither Azure Monitor nor OTLP is set "
        "(the devhost uses .devhost/telemetry); unset: telemetry is not exported.",
    )
    telemetry_metric_interval_seconds: float = Field(15.0, gt=0, le=3600, description="How often metrics are exported.")

    # Fault injection into the fine-tuning backend (reliability tests and demos; off by default)
    backend_faults: int = Field(
        0, ge=0, le=10, description="Times each distinct backend call fails with a transient fault first (0: off)."
    )
    backend_fault_kinds: list[BackendFaultKind] = Field(
        default_factory=lambda: list(BACKEND_FAULT_KINDS),
        min_length=1,
        description='JSON list of the injected faults, used in turn: "429", "503", "timeout".',
    )
    backend_fault_timeout_seconds: float = Field(
        0.05, ge=0, le=60, description="How long an injected time-out waits before failing."
    )

    fault_pause_after_activities: dict[str, float] = Field(
        default_factory=dict,
        description="JSON map of activity name to seconds it waits after its work, before its result is recorded, "
        'e.g. {"submit_training_job": 2} (kill tests catch each stage there; empty: off).',
    )

    @model_validator(mode="after")
    def _check_region(self) -> Settings:
        if self.foundry_backend == "azure" and self.azure_location.lower() not in PHI3_FINE_TUNING_REGIONS:
            raise ConfigurationError(
                f"AZURE_LOCATION={self.azure_location!r}: Phi-3 fine-tuning (models-as-a-service) is only "
                f"available in {', '.join(sorted(PHI3_FINE_TUNING_REGIONS))}; create the AI Foundry project there"
            )
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()


# Where each field's value comes from in Azure. tests/unit/infra/test_app_settings.py checks this against the
# Function App's app settings in infra/modules/functionapp.bicep, so a new field fails that test until it is
# classified here:
#   "bicep"    infra sets it: add an app setting named FIELD_NAME (upper case) to functionapp.bicep
#   "default"  the default is right in Azure too (an operator may still override it as an app setting)
#   "devhost"  meaningful on one machine only (local connection strings, local URLs); Azure never sets it
AzureSource = Literal["bicep", "default", "devhost"]
AZURE_SOURCES: dict[str, AzureSource] = {
    "durable_task_hub": "bicep",
    "storage_connection_string": "devhost",
    "storage_account_url": "bicep",
    "training_container": "bicep",
    "reports_container": "bicep",
    "state_container": "bicep",
    "storage_api_version": "default",
    "storage_retry_total": "default",
    "storage_retry_initial_backoff_seconds": "default",
    "storage_timeout_seconds": "default",
    "storage_chunk_bytes": "default",
    "servicebus_connection_string": "devhost",
    "servicebus_fully_qualified_namespace": "bicep",
    "servicebus_retry_total": "default",
    "servicebus_retry_backoff_max_seconds": "default",
    "events_topic": "bicep",
    "commands_queue": "bicep",
    "events_use_sessions": "default",
    "azure_client_id": "bicep",
    "foundry_backend": "bicep",
    "local_foundry_url": "devhost",
    "local_foundry_key": "devhost",
    "local_foundry_data_dir": "devhost",
    "local_foundry_base_model_path": "devhost",
    "local_foundry_min_epochs": "devhost",
    "local_foundry_min_learning_rate": "devhost",
    "local_foundry_max_concurrent_jobs": "devhost",
    "local_foundry_max_job_attempts": "devhost",
    "local_foundry_provision_seconds": "devhost",
    "azure_subscription_id": "bicep",
    "azure_resource_group": "bicep",
    "azure_ai_project_name": "bicep",
    "azure_location": "bicep",
    "default_base_model": "default",
    "default_epochs": "default",
    "default_learning_rate": "default",
    "default_batch_size": "default",
    "default_validation_split": "default",
    "default_require_approval": "default",
    "default_max_training_hours": "default",
    "approval_timeout_hours": "default",
    "keep_previous": "default",
    "min_examples": "default",
    "max_file_bytes": "default",
    "max_line_bytes": "default",
    "phi3_tokenizer_path": "default",
    "price_training_per_1k_tokens": "default",
    "price_hosting_per_hour": "default",
    "poll_initial_seconds": "default",
    "poll_max_seconds": "default",
    "polls_per_generation": "default",
    "deployment_timeout_minutes": "default",
    "smoke_prompts": "default",
    "smoke_sample_size": "default",
    "smoke_max_latency_ms": "default",
    "smoke_min_quality": "default",
    "smoke_metric": "default",
    "smoke_max_tokens": "default",
    "smoke_temperature": "default",
    "smoke_request_timeout_seconds": "default",
    "smoke_max_attempts": "default",
    "applicationinsights_connection_string": "bicep",
    "otel_exporter_otlp_endpoint": "devhost",
    "telemetry_dir": "devhost",
    "telemetry_metric_interval_seconds": "default",
    "backend_faults": "default",
    "backend_fault_kinds": "default",
    "backend_fault_timeout_seconds": "default",
    "fault_pause_after_activities": "default",
}
