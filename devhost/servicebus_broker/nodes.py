"""Request/response nodes: `$cbs` token checks and routing replies back to the client's reply link."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from proton import Endpoint, Message

from devhost.servicebus_broker.sas import TokenRejectedError, check_token


@dataclass
class ConnectionState:
    """Per-connection state: authorisation and the reply links of request/response nodes."""

    authorized: bool = False
    reply_links: dict[str, list[Any]] = field(default_factory=dict)
    queued_replies: list[tuple[str, str | None, bytes]] = field(default_factory=list)


def put_token(state: ConnectionState, request: Message, *, key_name: str, key: str) -> Message:
    """Answer a `$cbs` put-token: 200 and an authorised connection, or 401 saying why."""
    properties: dict[Any, Any] = request.properties or {}
    status, description = 200, "OK"
    if properties.get("operation") != "put-token":
        status, description = 400, "only put-token is supported on $cbs"
    else:
        try:
            check_token(str(request.body), key_name=key_name, key=key)
            state.authorized = True
        except TokenRejectedError as error:
            status, description = 401, f"Unauthorized: {error}"
    return Message(
        correlation_id=request.id,
        properties={"status-code": status, "status-description": description},
    )


def queue_reply(connection: Any, node: str, reply_to: str | None, payload: bytes) -> None:
    """Send a response now, or as soon as the client's reply link has credit."""
    state: ConnectionState = connection.broker
    state.queued_replies.append((node, reply_to, payload))
    send_queued_replies(connection)


def send_queued_replies(connection: Any) -> None:
    """Send the queued responses whose reply link has credit."""
    state: ConnectionState | None = getattr(connection, "broker", None)
    if state is None:
        return
    remaining = []
    for node, reply_to, payload in state.queued_replies:
        target = _reply_link(state, node, reply_to)
        if target is None or target.credit <= 0:
            remaining.append((node, reply_to, payload))
            continue
        delivery = target.delivery(uuid.uuid4().bytes_le)
        target.send(payload)
        target.advance()
        delivery.settle()
    state.queued_replies = remaining


def _reply_link(state: ConnectionState, node: str, reply_to: str | None) -> Any:
    links = [link for link in state.reply_links.get(node, []) if link.state & Endpoint.LOCAL_ACTIVE]
    if reply_to:
        for link in links:
            if link.remote_target.address == reply_to:
                return link
    return links[0] if links else None
