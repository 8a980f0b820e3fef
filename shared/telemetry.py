"""OpenTelemetry for the service: configured once per process, chosen by settings.

- `APPLICATIONINSIGHTS_CONNECTION_STRING` set: Azure Monitor (`configure_azure_monitor`), in Azure.
- else `OTEL_EXPORTER_OTLP_ENDPOINT` set: OTLP over HTTP (traces, metrics, logs) to a collector.
- else `TELEMETRY_DIR` (or the `file_dir` argument; the devhost passes `.devhost/telemetry`): JSON lines,
  one object a line, in `spans.jsonl`, `metrics.jsonl` and `logs.jsonl`.
- else nothing is exported (the API's no-op providers stay).

Configuring twice does nothing the second time, so no exporter or log handler is ever added twice.
Trace context crosses orchestration input and Service Bus messages as W3C `traceparent`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import IO

from opentelemetry import metrics, trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    ConsoleLogRecordExporter,
    LogRecordExporter,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, MetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shared.settings import Settings
from shared.telemetry_redaction import RedactingSpanExporter, safe_attributes

INSTRUMENTATION_NAME = "phi_finetune_orchestrator"
DEFAULT_SERVICE_NAME = "phi-finetune-orchestrator"
SPANS_FILE = "spans.jsonl"
METRICS_FILE = "metrics.jsonl"
LOGS_FILE = "logs.jsonl"
TRACEPARENT = "traceparent"
DIAGNOSTIC_ID = "Diagnostic-Id"

_propagator = TraceContextTextMapPropagator()
_lock = threading.Lock()
_configured: TelemetryMode | None = None


class TelemetryMode(StrEnum):
    """Where this process's telemetry goes."""

    AZURE_MONITOR = "azure_monitor"
    OTLP = "otlp"
    FILE = "file"
    NONE = "none"


def configure_telemetry(settings: Settings, *, file_dir: Path | None = None) -> TelemetryMode:
    """Set up tracing, metrics and log export once per process; later calls return the first mode."""
    global _configured  # noqa: PLW0603 -- one OpenTelemetry setup per process is the point
    with _lock:
        if _configured is not None:
            return _configured
        _configured = _configure(settings, file_dir)
        return _configured


def _configure(settings: Settings, file_dir: Path | None) -> TelemetryMode:
    if settings.applicationinsights_connection_string is not None:
        from azure.monitor.opentelemetry import configure_azure_monitor  # noqa: PLC0415 -- heavy, Azure only

        configure_azure_monitor(
            connection_string=settings.applicationinsights_connection_string.get_secret_value(),
            resource=_resource(),
            enable_live_metrics=False,
            **_entra_credential(settings),
        )
        return TelemetryMode.AZURE_MONITOR
    if settings.otel_exporter_otlp_endpoint:
        spans, metric_exporter, logs = _otlp_exporters(settings.otel_exporter_otlp_endpoint)
        _install(spans, metric_exporter, logs, settings.telemetry_metric_interval_seconds)
        return TelemetryMode.OTLP
    directory = file_dir or (Path(settings.telemetry_dir) if settings.telemetry_dir else None)
    if directory is not None:
        spans, metric_exporter, logs = json_lines_exporters(directory)
        _install(spans, metric_exporter, logs, settings.telemetry_metric_interval_seconds)
        return TelemetryMode.FILE
    return TelemetryMode.NONE


def _entra_credential(settings: Settings) -> dict[str, object]:
    """In Azure, ingestion refuses keys (local auth is off): export with the app's managed identity."""
    if not settings.azure_client_id:
        return {}
    from azure.identity import ManagedIdentityCredential  # noqa: PLC0415 -- Azure only

    return {"credential": ManagedIdentityCredential(client_id=settings.azure_client_id)}


def _resource() -> Resource:
    # Resource.create also reads OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES, which win over this default.
    detected = Resource.create()
    if str(detected.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        return detected.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    return detected


def _otlp_exporters(endpoint: str) -> tuple[SpanExporter, MetricExporter, LogRecordExporter]:
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter  # noqa: PLC0415
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter  # noqa: PLC0415
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: PLC0415

    base = endpoint.rstrip("/")
    return (
        OTLPSpanExporter(endpoint=f"{base}/v1/traces"),
        OTLPMetricExporter(endpoint=f"{base}/v1/metrics"),
        OTLPLogExporter(endpoint=f"{base}/v1/logs"),
    )


def json_lines_exporters(directory: Path) -> tuple[SpanExporter, MetricExporter, LogRecordExporter]:
    """Exporters that append one JSON object a line to spans.jsonl, metrics.jsonl and logs.jsonl."""
    directory.mkdir(parents=True, exist_ok=True)

    def append(name: str) -> IO[str]:
        return (directory / name).open("a", encoding="utf-8", buffering=1)

    return (
        ConsoleSpanExporter(out=append(SPANS_FILE), formatter=lambda span: span.to_json(indent=None) + "\n"),
        ConsoleMetricExporter(out=append(METRICS_FILE), formatter=lambda data: data.to_json(indent=None) + "\n"),
        ConsoleLogRecordExporter(out=append(LOGS_FILE), formatter=lambda record: record.to_json(indent=None) + "\n"),
    )


def build_providers(
    spans: SpanExporter, metric_exporter: MetricExporter, logs: LogRecordExporter, metric_interval_s: float
) -> tuple[TracerProvider, MeterProvider, LoggerProvider]:
    """Providers over these exporters, spans redacted of anything that looks like a secret."""
    resource = _resource()
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(RedactingSpanExporter(spans)))
    reader = PeriodicExportingMetricReader(metric_exporter, export_interval_millis=metric_interval_s * 1000)
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(logs))
    return tracer_provider, meter_provider, logger_provider


def _install(spans: SpanExporter, metric_exporter: MetricExporter, logs: LogRecordExporter, interval: float) -> None:
    from opentelemetry._logs import set_logger_provider  # noqa: PLC0415 -- the logs API is still underscored

    tracer_provider, meter_provider, logger_provider = build_providers(spans, metric_exporter, logs, interval)
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    set_logger_provider(logger_provider)
    root = logging.getLogger()
    if not any(isinstance(handler, LoggingHandler) for handler in root.handlers):
        root.addHandler(LoggingHandler(logger_provider=logger_provider))


def tracer() -> trace.Tracer:
    """The service's tracer (from the global provider; a no-op until telemetry is configured)."""
    return trace.get_tracer(INSTRUMENTATION_NAME)


def meter() -> metrics.Meter:
    """The service's meter (from the global provider; a no-op until telemetry is configured)."""
    return metrics.get_meter(INSTRUMENTATION_NAME)


@contextmanager
def span(
    name: str,
    attributes: Mapping[str, object] | None = None,
    *,
    carrier: Mapping[str, object] | Mapping[bytes, object] | None = None,
    kind: trace.SpanKind = trace.SpanKind.INTERNAL,
) -> Iterator[trace.Span]:
    """A current span with secret-free attributes, a child of the trace in `carrier` when one is given."""
    context = extract_trace_context(carrier) if carrier is not None else None
    with tracer().start_as_current_span(
        name, context=context, kind=kind, attributes=safe_attributes(attributes or {})
    ) as current:
        yield current


def inject_trace_context(context: Context | None = None) -> dict[str, str]:
    """The current (or given) span's W3C trace context, e.g. `{"traceparent": "00-…-01"}`; empty without a span."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier, context=context)
    return carrier


def extract_trace_context(carrier: Mapping[str, object] | Mapping[bytes, object] | None) -> Context:
    """A context whose parent is the span in `carrier` (a dict, or Service Bus properties with bytes keys).

    `traceparent` is read first, else `Diagnostic-Id` (which Azure SDKs fill with the same value).
    A missing or malformed value gives an empty context: the next span starts a new trace.
    """
    normalised: dict[str, str] = {}
    for key, value in (carrier or {}).items():
        text_key = key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)
        text_value = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        normalised[text_key.lower()] = text_value
    if TRACEPARENT not in normalised and DIAGNOSTIC_ID.lower() in normalised:
        normalised[TRACEPARENT] = normalised[DIAGNOSTIC_ID.lower()]
    return _propagator.extract(normalised)


class Instruments:
    """The service's metric instruments; each method records one measurement with safe attributes."""

    def __init__(self, source: metrics.Meter) -> None:
        self._runs_started = source.create_counter("finetune.runs.started", "{run}", "Runs accepted.")
        self._runs_finished = source.create_counter("finetune.runs.finished", "{run}", "Runs ended, by outcome.")
        self._stage_duration = source.create_histogram(
            "finetune.stage.duration", "s", "Time from a stage's start to its end, by stage and outcome."
        )
        self._validation_errors = source.create_counter(
            "finetune.validation.errors", "{error}", "Problems found in training files, by code."
        )
        self._training_tokens = source.create_counter(
            "finetune.training.tokens", "{token}", "Tokens submitted for training (examples x epochs)."
        )
        self._events_published = source.create_counter(
            "finetune.events.published", "{event}", "CloudEvents published, by type."
        )
        self._smoke_latency = source.create_histogram(
            "finetune.smoketest.latency", "s", "Latency of one smoke-test chat completion."
        )

    def run_started(self, family: str) -> None:
        """A run was accepted."""
        self._runs_started.add(1, safe_attributes({"finetune.family": family}))

    def run_finished(self, outcome: str, family: str) -> None:
        """A run ended as `succeeded`, `failed`, `canceled` or `rejected`."""
        self._runs_finished.add(1, safe_attributes({"finetune.outcome": outcome, "finetune.family": family}))

    def stage_finished(self, stage: str, outcome: str, seconds: float) -> None:
        """A stage ended after `seconds`."""
        attributes = safe_attributes({"finetune.stage": stage, "finetune.outcome": outcome})
        self._stage_duration.record(seconds, attributes)

    def validation_errors(self, code: str, count: int = 1) -> None:
        """`count` problems of one kind were found in a training file."""
        self._validation_errors.add(count, safe_attributes({"finetune.validation.code": code}))

    def training_tokens(self, tokens: int, base_model: str) -> None:
        """Tokens submitted for training a base model."""
        self._training_tokens.add(tokens, safe_attributes({"finetune.base_model": base_model}))

    def event_published(self, event_type: str) -> None:
        """One CloudEvent was published."""
        self._events_published.add(1, safe_attributes({"finetune.event_type": event_type}))

    def smoke_latency(self, seconds: float, outcome: str) -> None:
        """One smoke-test completion took `seconds` and `passed` or `failed`."""
        self._smoke_latency.record(seconds, safe_attributes({"finetune.outcome": outcome}))


@lru_cache(maxsize=1)
def instruments() -> Instruments:
    """The process's instruments on the global meter (they follow the provider set by `configure_telemetry`)."""
    return Instruments(meter())
