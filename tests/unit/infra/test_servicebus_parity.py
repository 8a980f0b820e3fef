"""Two homes, one behaviour: the Service Bus entities the Bicep creates in Azure match the ones the devhost
broker creates (`devhost.servicebus_broker.entities.default_namespace`), so what a test sees locally is
what a consumer sees in Azure."""

from __future__ import annotations

import re

from devhost.servicebus_broker.entities import CorrelationFilter, default_namespace
from tests.unit.infra.bicep import Resource, resources, variables


def _name(resource: Resource) -> str:
    name = resource.config["name"]
    return str(variables(resource.file).get(name, name))


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", duration)
    assert match, duration
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return float(((days * 24 + hours) * 60 + minutes) * 60 + seconds)


def test_the_queues_match_the_devhost_broker() -> None:
    local = {queue.name: queue for queue in default_namespace().queues}
    azure = {_name(queue): queue for queue in resources("Microsoft.ServiceBus/namespaces/queues")}
    assert set(azure) == set(local)
    for name, queue in azure.items():
        assert queue.properties["maxDeliveryCount"] == local[name].max_delivery_count, name
        assert _seconds(queue.properties["lockDuration"]) == local[name].lock_duration_seconds, name
        assert queue.properties["requiresSession"] is local[name].requires_session, name


def test_the_topic_and_its_subscriptions_match_the_devhost_broker() -> None:
    [topic] = default_namespace().topics
    [azure_topic] = list(resources("Microsoft.ServiceBus/namespaces/topics"))
    assert _name(azure_topic) == topic.name
    assert topic.duplicate_detection_window_seconds > 0
    assert azure_topic.properties["requiresDuplicateDetection"] is True
    azure = {_name(sub): sub for sub in resources("Microsoft.ServiceBus/namespaces/topics/subscriptions")}
    local = {sub.name: sub for sub in topic.subscriptions}
    assert set(azure) <= set(local), "the devhost may add subscriptions of its own, never lack one"
    rules = {
        rule.config["parent"]: rule for rule in resources("Microsoft.ServiceBus/namespaces/topics/subscriptions/rules")
    }
    for name, subscription in azure.items():
        assert subscription.properties["maxDeliveryCount"] == local[name].max_delivery_count, name
        assert _seconds(subscription.properties["lockDuration"]) == local[name].lock_duration_seconds, name
        rule = rules.get(subscription.symbol)
        azure_filter = (
            CorrelationFilter(application_properties=rule.properties["correlationFilter"]["properties"])
            if rule
            else None
        )
        assert azure_filter == local[name].filter, name
