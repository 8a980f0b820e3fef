from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared import telemetry
from shared.settings import Settings
from shared.telemetry import Instruments, TelemetryMode, build_providers, extract_trace_context, inject_trace_context
from shared.telemetry_redaction import REDACTED, RedactingSpanExporter, safe_attributes

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def spans() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(RedactingSpanExporter(exporter)))
    return provider, exporter


def test_secret_attributes_are_redacted_before_export(spans: tuple[TracerProvider, InMemorySpanExporter]) -> None:
    provider, exporter = spans
    with provider.get_tracer("t").start_as_current_span("upload") as span:
        span.set_attribute("finetune.run_id", "ft-a-1")
        span.set_attribute("finetune.training.tokens", 1200)
        span.set_attribute("storage.connection_string", "DefaultEndpointsProtocol=http;AccountKey=c2VjcmV0")
        span.set_attribute("http.url", "http://127.0.0.1/c/b?sv=1&sig=abc")
        span.set_attribute("endpoint.primaryKey", "k-123")
        span.add_event("called", {"api_key": "k-456"})
    [exported] = exporter.get_finished_spans()
    assert exported.attributes == {
        "finetune.run_id": "ft-a-1",
        "finetune.training.tokens": 1200,
        "storage.connection_string": REDACTED,
        "http.url": REDACTED,
        "endpoint.primaryKey": REDACTED,
    }
    assert exported.events[0].attributes == {"api_key": REDACTED}
    assert "c2VjcmV0" not in exported.to_json()


def test_safe_attributes_redact_secrets_and_flatten_values() -> None:
    assert safe_attributes(
        {"family": "xbox", "sas": "sv=1", "count": 3, "path": Path("a/b"), "names": ["a"], "none": None}
    ) == {"family": "xbox", "sas": REDACTED, "count": 3, "path": "a/b", "names": ["a"]}


def test_instruments_record_each_measurement_under_its_name() -> None:
    reader = InMemoryMetricReader()
    instruments = Instruments(MeterProvider(metric_readers=[reader]).get_meter("t"))
    instruments.run_started("xbox")
    instruments.run_finished("succeeded", "xbox")
    instruments.stage_finished("validating", "succeeded", 0.25)
    instruments.validation_errors("missing_assistant", 3)
    instruments.training_tokens(5000, "Phi-3-mini-4k-instruct")
    instruments.event_published("finetune.run.accepted")
    instruments.smoke_latency(0.5, "passed")
    data = reader.get_metrics_data()
    assert data is not None
    points = {
        metric.name: [
            (dict(p.attributes or {}), getattr(p, "value", None) or getattr(p, "sum", None))
            for p in metric.data.data_points
        ]
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
    }
    assert points == {
        "finetune.runs.started": [({"finetune.family": "xbox"}, 1)],
        "finetune.runs.finished": [({"finetune.outcome": "succeeded", "finetune.family": "xbox"}, 1)],
        "finetune.stage.duration": [({"finetune.stage": "validating", "finetune.outcome": "succeeded"}, 0.25)],
        "finetune.validation.errors": [({"finetune.validation.code": "missing_assistant"}, 3)],
        "finetune.training.tokens": [({"finetune.base_model": "Phi-3-mini-4k-instruct"}, 5000)],
        "finetune.events.published": [({"finetune.event_type": "finetune.run.accepted"}, 1)],
        "finetune.smoketest.latency": [({"finetune.outcome": "passed"}, 0.5)],
    }


def test_trace_context_crosses_a_message_with_bytes_keys(spans: tuple[TracerProvider, InMemorySpanExporter]) -> None:
    provider, exporter = spans
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("publish") as parent:
        carrier = inject_trace_context()
    assert set(carrier) == {"traceparent"}
    received = {k.encode(): v.encode() for k, v in carrier.items()}
    with tracer.start_as_current_span("consume", context=extract_trace_context(received)) as child:
        pass
    assert child.parent is not None
    assert child.parent.span_id == parent.get_span_context().span_id
    assert child.get_span_context().trace_id == parent.get_span_context().trace_id
    assert len(exporter.get_finished_spans()) == 2


def test_diagnostic_id_is_read_when_traceparent_is_absent(spans: tuple[TracerProvider, InMemorySpanExporter]) -> None:
    provider, _ = spans
    with provider.get_tracer("t").start_as_current_span("publish") as parent:
        traceparent = inject_trace_context()["traceparent"]
    context = extract_trace_context({"Diagnostic-Id": traceparent})
    assert trace.get_current_span(context).get_span_context().trace_id == parent.get_span_context().trace_id


@pytest.mark.parametrize("carrier", [None, {}, {"traceparent": "garbage"}, {b"traceparent": b"00-zz"}])
def test_a_missing_or_malformed_carrier_starts_a_new_trace(carrier: dict[str, str] | None) -> None:
    assert not trace.get_current_span(extract_trace_context(carrier)).get_span_context().is_valid


def test_without_a_span_nothing_is_injected() -> None:
    assert inject_trace_context() == {}


def test_json_lines_files_get_one_object_a_line(tmp_path: Path) -> None:
    span_exporter, metric_exporter, log_exporter = telemetry.json_lines_exporters(tmp_path)
    tracer_provider, meter_provider, logger_provider = build_providers(span_exporter, metric_exporter, log_exporter, 60)
    with tracer_provider.get_tracer("t").start_as_current_span("validate", attributes={"token": "t0ps3cret"}):
        pass
    Instruments(meter_provider.get_meter("t")).run_started("xbox")
    tracer_provider.shutdown()
    meter_provider.shutdown()
    logger_provider.shutdown()
    [span_line] = (tmp_path / "spans.jsonl").read_text().splitlines()
    span = json.loads(span_line)
    assert span["name"] == "validate"
    assert span["attributes"] == {"token": REDACTED}
    assert span["resource"]["attributes"]["service.name"] == "phi-finetune-orchestrator"
    metric_lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert "finetune.runs.started" in metric_lines[-1]
    assert all(json.loads(line) for line in metric_lines)


def test_azure_monitor_is_configured_once_with_the_connection_string(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, object]] = []
    monkeypatch.setattr("azure.monitor.opentelemetry.configure_azure_monitor", lambda **kw: calls.append(kw))
    monkeypatch.setattr(telemetry, "_configured", None)
    settings = Settings(
        applicationinsights_connection_string="InstrumentationKey=00000000-0000-0000-0000-000000000000",
        otel_exporter_otlp_endpoint="http://127.0.0.1:4318",
    )
    assert telemetry.configure_telemetry(settings) is TelemetryMode.AZURE_MONITOR
    assert telemetry.configure_telemetry(settings) is TelemetryMode.AZURE_MONITOR
    assert len(calls) == 1
    assert calls[0]["connection_string"] == "InstrumentationKey=00000000-0000-0000-0000-000000000000"


def test_nothing_configured_exports_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telemetry, "_configured", None)
    assert telemetry.configure_telemetry(Settings()) is TelemetryMode.NONE


def test_configuring_twice_in_a_process_exports_each_log_record_once(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import logging
        from pathlib import Path
        from opentelemetry import metrics, trace
        from shared.settings import Settings
        from shared.telemetry import configure_telemetry, instruments, tracer

        print(configure_telemetry(Settings(), file_dir=Path({str(tmp_path)!r})))
        print(configure_telemetry(Settings(), file_dir=Path({str(tmp_path)!r})))
        logging.getLogger("shared.test").warning("validation started for %s", "xbox")
        with tracer().start_as_current_span("validate"):
            instruments().run_started("xbox")
        trace.get_tracer_provider().shutdown()
        metrics.get_meter_provider().shutdown()
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["file", "file"]
    assert (tmp_path / "logs.jsonl").read_text().count("validation started for xbox") == 1
    assert json.loads((tmp_path / "spans.jsonl").read_text().splitlines()[0])["name"] == "validate"
    assert "finetune.runs.started" in (tmp_path / "metrics.jsonl").read_text()


def test_span_helper_continues_the_carriers_trace_with_safe_attributes(
    spans: tuple[TracerProvider, InMemorySpanExporter], monkeypatch: pytest.MonkeyPatch
) -> None:
    provider, exporter = spans
    monkeypatch.setattr(telemetry, "tracer", lambda: provider.get_tracer("t"))
    with provider.get_tracer("t").start_as_current_span("orchestrator") as parent:
        carrier = inject_trace_context()
    with telemetry.span("activity.validate", {"finetune.run_id": "ft-a-1", "api_key": "k"}, carrier=carrier) as child:
        assert child.is_recording()
    exported = {s.name: s for s in exporter.get_finished_spans()}["activity.validate"]
    assert exported.parent is not None
    assert exported.parent.span_id == parent.get_span_context().span_id
    assert exported.attributes == {"finetune.run_id": "ft-a-1", "api_key": REDACTED}
