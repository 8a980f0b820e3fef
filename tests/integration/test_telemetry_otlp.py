"""The OTLP exporters against a collector stand-in on 127.0.0.1 that records what it receives."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from shared.telemetry import Instruments, _otlp_exporters, build_providers

pytestmark = pytest.mark.integration


class Collector(ThreadingHTTPServer):
    received: list[tuple[str, str, bytes]]


class _Handler(BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.path, self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector(("127.0.0.1", 0), _Handler)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_traces_metrics_and_logs_reach_the_otlp_endpoint(collector: Collector) -> None:
    spans, metric_exporter, logs = _otlp_exporters(f"http://127.0.0.1:{collector.server_address[1]}/")
    assert isinstance(spans, OTLPSpanExporter)
    tracer_provider, meter_provider, logger_provider = build_providers(spans, metric_exporter, logs, 60)
    with tracer_provider.get_tracer("t").start_as_current_span("training", attributes={"sas": "sv=1&sig=x"}):
        Instruments(meter_provider.get_meter("t")).training_tokens(42, "Phi-3-mini-4k-instruct")
    logger, handler = logging.getLogger("test.otlp"), LoggingHandler(logger_provider=logger_provider)
    logger.addHandler(handler)
    try:
        logger.warning("training submitted")
    finally:
        logger.removeHandler(handler)
    tracer_provider.shutdown()
    meter_provider.shutdown()
    logger_provider.shutdown()

    paths = {path: content_type for path, content_type, _ in collector.received}
    assert paths == {
        "/v1/traces": "application/x-protobuf",
        "/v1/metrics": "application/x-protobuf",
        "/v1/logs": "application/x-protobuf",
    }
    trace_body = next(body for path, _, body in collector.received if path == "/v1/traces")
    request = ExportTraceServiceRequest.FromString(trace_body)
    [span] = request.resource_spans[0].scope_spans[0].spans
    assert span.name == "training"
    assert [(a.key, a.value.string_value) for a in span.attributes] == [("sas", "[redacted]")]
