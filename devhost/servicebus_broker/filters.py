"""Subscription filters: Service Bus correlation filters over system and application properties."""

from __future__ import annotations

from typing import Any

from devhost.servicebus_broker.codec import MessageFacts
from devhost.servicebus_broker.entities import CorrelationFilter


def _same(expected: str | int | bool, actual: Any) -> bool:
    if isinstance(actual, bytes | memoryview):
        actual = bytes(actual).decode("utf-8", "replace")
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual or (isinstance(actual, bool) and str(actual).lower() == str(expected).lower())
    if isinstance(expected, int) and not isinstance(actual, str):
        return bool(expected == actual)
    return str(expected) == str(actual)


def matches(rule: CorrelationFilter | None, facts: MessageFacts) -> bool:
    """Whether a message passes the filter; no filter means every message (Service Bus `TrueFilter`)."""
    if rule is None:
        return True
    for expected, actual in (
        (rule.subject, facts.subject),
        (rule.correlation_id, facts.correlation_id),
        (rule.content_type, facts.content_type),
    ):
        if expected is not None and expected != actual:
            return False
    for key, value in rule.application_properties.items():
        if key not in facts.application_properties or not _same(value, facts.application_properties[key]):
            return False
    return True
