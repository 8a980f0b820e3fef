"""Keeping secrets out of telemetry: attribute filtering and a redacting span exporter."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.util.types import AttributeValue

REDACTED = "[redacted]"
# Names are split on separators: "api_key", "sas" and "primaryKey" are secrets, "training.tokens" is not.
_SECRET_NAME_PARTS = frozenset({"key", "keys", "token", "sas", "sig", "signature", "password", "secret", "credential"})
_SECRET_NAME_JOINED = ("connectionstring", "accountkey", "apikey", "accesskey", "sharedaccess", "authorization")
_SEPARATORS = re.compile(r"[._\-\s]+")
_SECRET_VALUE = re.compile(
    r"(AccountKey=|SharedAccessKey=|SharedAccessSignature=|[?&]sig=|Bearer\s|api-key)", re.IGNORECASE
)
_PRIMITIVES = (str, bool, int, float)


def is_secret(key: str, value: object) -> bool:
    """Whether an attribute looks like a credential, by its name or by its content."""
    lowered = key.lower()
    parts = set(_SEPARATORS.split(lowered))
    joined = _SEPARATORS.sub("", lowered)
    by_name = (
        bool(parts & _SECRET_NAME_PARTS)
        or any(marker in joined for marker in _SECRET_NAME_JOINED)
        or joined.endswith(("key", "token", "secret", "password"))  # primaryKey, accessToken
    )
    return by_name or (isinstance(value, str) and bool(_SECRET_VALUE.search(value)))


def safe_attributes(attributes: Mapping[str, object]) -> dict[str, AttributeValue]:
    """Attributes fit for telemetry: secrets replaced by `[redacted]`, other values made primitive."""
    safe: dict[str, AttributeValue] = {}
    for key, value in attributes.items():
        if value is None:
            continue
        if is_secret(key, value):
            safe[key] = REDACTED
        elif isinstance(value, _PRIMITIVES):
            safe[key] = value
        elif isinstance(value, Sequence) and all(isinstance(item, str) for item in value):
            safe[key] = [str(item) for item in value]
        else:
            safe[key] = str(value)
    return safe


def _redacted(attributes: Mapping[str, AttributeValue] | None) -> dict[str, AttributeValue] | None:
    if attributes is None:
        return None
    return {key: REDACTED if is_secret(key, value) else value for key, value in attributes.items()}


def _needs_redaction(span: ReadableSpan) -> bool:
    groups = [span.attributes or {}, *(event.attributes or {} for event in span.events)]
    return any(is_secret(key, value) for group in groups for key, value in group.items())


def redact_span(span: ReadableSpan) -> ReadableSpan:
    """The span itself when it carries no secret, else a copy with secret attributes redacted."""
    if not _needs_redaction(span):
        return span
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=_redacted(span.attributes),
        events=[Event(e.name, _redacted(e.attributes), e.timestamp) for e in span.events],
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class RedactingSpanExporter(SpanExporter):
    """Wraps an exporter so that no span attribute that looks like a secret leaves the process."""

    def __init__(self, inner: SpanExporter) -> None:
        self._inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Export the spans with secrets redacted."""
        return self._inner.export([redact_span(span) for span in spans])

    def shutdown(self) -> None:
        """Shut the wrapped exporter down."""
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush the wrapped exporter."""
        return self._inner.force_flush(timeout_millis)
