"""The devhost's stand-in for the Azure Functions host: the app's http, blob, Service Bus and timer functions.

The same trigger functions that `function_app.py` registers are discovered from their bindings and invoked
with the objects the real host passes (`func.HttpRequest`, `func.InputStream`, `func.ServiceBusMessage`,
`func.TimerRequest`) and, for durable client inputs, the client binding JSON pointing at the engine.
"""

from __future__ import annotations

from devhost.functions_host.discovery import FunctionTrigger, discover_triggers
from devhost.functions_host.host import FunctionsHost
from devhost.functions_host.http_server import DEFAULT_HTTP_PORT, FunctionsHttpServer
from devhost.loopback_http import check_loopback

__all__ = [
    "DEFAULT_HTTP_PORT",
    "FunctionTrigger",
    "FunctionsHost",
    "FunctionsHttpServer",
    "check_loopback",
    "discover_triggers",
]
