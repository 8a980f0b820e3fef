"""`/runtime/webhooks/durabletask/...` on the functions port, forwarded to the engine's management API.

The real host serves the Durable HTTP API on the app's own origin, and the SDK's
`create_check_status_response` rewrites management links to the request's origin. The devhost's engine
listens on a port of its own, so the functions server forwards those paths to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

from devhost.functions_host.http_binding import HttpReply

WEBHOOKS_PREFIX = "/runtime/webhooks/durabletask/"
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host", "content-length"}
)


class DurableWebhooksProxy:
    """Forwards Durable HTTP API requests to the engine's management server (loopback only)."""

    def __init__(self, management_url: str, timeout_s: float = 60.0) -> None:
        parts = urlsplit(management_url)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._client = httpx.Client(timeout=timeout_s, trust_env=False)

    def forward(self, method: str, path_and_query: str, headers: Mapping[str, str], body: bytes) -> HttpReply:
        """Send the request on and relay the answer."""
        outgoing = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
        try:
            response = self._client.request(method, self._origin + path_and_query, headers=outgoing, content=body)
        except httpx.HTTPError as error:
            message = f'{{"error": "the durable engine did not answer: {type(error).__name__}"}}'
            return HttpReply(status_code=502, headers=[("Content-Type", "application/json")], body=message.encode())
        relayed = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _HOP_BY_HOP]
        return HttpReply(status_code=response.status_code, headers=relayed, body=response.content)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()
