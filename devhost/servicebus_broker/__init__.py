"""A local AMQP 1.0 broker that the real `azure-servicebus` SDK uses as if it were Service Bus.

Start it with `Broker(...).start()` or `python -m devhost broker`; entities come from
`entities.default_namespace()`.
"""

from __future__ import annotations

from devhost.servicebus_broker.broker import Broker
from devhost.servicebus_broker.entities import Namespace, default_namespace

__all__ = ["Broker", "Namespace", "default_namespace"]
