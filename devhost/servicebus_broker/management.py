"""The `$management` node: the request/response operations the SDK's senders and receivers use.

Each request is an AMQP message whose application property `operation` names the operation and
whose body is a map; the reply carries `statusCode`, `statusDescription` and, on failure, the
`errorCondition` the SDK maps to its exception types.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from proton import Message, symbol, timestamp

from devhost.servicebus_broker.codec import MalformedMessageError, read_facts, split_sections
from devhost.servicebus_broker.queues import Entity, MessageState
from devhost.servicebus_broker.registry import Registry

VENDOR = "com.microsoft:"
LOCK_LOST = VENDOR + "message-lock-lost"
SESSION_LOCK_LOST = VENDOR + "session-lock-lost"
NOT_FOUND = VENDOR + "message-not-found"
ARGUMENT_ERROR = VENDOR + "argument-error"
NOT_IMPLEMENTED = "amqp:not-implemented"

_SETTLEMENTS = {"completed": "complete", "abandoned": "abandon", "defered": "defer", "suspended": "dead-letter"}


@dataclass
class Reply:
    """A management response before encoding."""

    status: int = 200
    body: dict[str, Any] | None = field(default_factory=dict)
    description: str = "OK"
    condition: str | None = None


@dataclass
class Context:
    """What a request can touch: the node's entity (or None for a topic), the registry, the clock."""

    node: str
    entity: Entity | None
    registry: Registry
    now_ms: int
    touched: set[Entity] = field(default_factory=set)
    session_owner: Any = None


def _items(value: Any) -> list[Any]:
    if value is None:
        return []
    if hasattr(value, "elements"):
        return list(value.elements)
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def _token(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _failure(status: int, condition: str, description: str) -> Reply:
    return Reply(status=status, body=None, description=description, condition=condition)


def _need_entity(context: Context) -> Entity:
    if context.entity is None:
        raise LookupError(f"'{context.node}' has no messages to receive")
    return context.entity


def renew_lock(body: dict[str, Any], context: Context) -> Reply:
    """`renew-lock`: extend message locks; lock-lost when any is gone."""
    entity = _need_entity(context)
    expirations = []
    for value in _items(body.get("lock-tokens")):
        until = entity.renew(_token(value), context.now_ms)
        if until is None:
            return _failure(410, LOCK_LOST, "The lock on the message is lost.")
        expirations.append(timestamp(until))
    return Reply(body={"expirations": expirations})


def update_disposition(body: dict[str, Any], context: Context) -> Reply:
    """`update-disposition`: settle by lock token (deferred messages, or when the link is gone)."""
    entity = _need_entity(context)
    outcome = _SETTLEMENTS.get(str(body.get("disposition-status")))
    if outcome is None:
        return _failure(400, ARGUMENT_ERROR, f"unknown disposition-status {body.get('disposition-status')!r}")
    for value in _items(body.get("lock-tokens")):
        result = entity.settle(
            _token(value),
            outcome,
            context.now_ms,
            reason=body.get("deadletter-reason"),
            description=body.get("deadletter-description"),
        )
        if result.error:
            return _failure(410, result.error, result.description or "")
    context.touched.add(entity)
    return Reply()


def peek(body: dict[str, Any], context: Context) -> Reply:
    """`peek-message`: messages from a sequence number on, unlocked and unchanged."""
    entity = _need_entity(context)
    found = entity.peek(
        int(body.get("from-sequence-number") or 0), int(body.get("message-count") or 1), body.get("session-id")
    )
    if not found:
        return Reply(status=204, body=None, description="No messages")
    return Reply(body={"messages": [{"message": m.encode(locked_until_ms=None)} for m in found]})


def receive_by_sequence_number(body: dict[str, Any], context: Context) -> Reply:
    """`receive-by-sequence-number`: fetch deferred messages (locked, or deleted in receive-and-delete)."""
    entity = _need_entity(context)
    wanted = [int(seq) for seq in _items(body.get("sequence-numbers"))]
    found = entity.deferred(wanted)
    if len(found) != len(wanted):
        return _failure(404, NOT_FOUND, "No deferred message has one of the given sequence numbers.")
    peek_lock = int(body.get("receiver-settle-mode", 1)) == 1
    out = []
    for message in found:
        if peek_lock:
            lock = entity.lock(message, None, context.now_ms)
            out.append({"message": message.encode(locked_until_ms=lock.until_ms), "lock-token": lock.token})
        else:
            out.append({"message": message.encode(locked_until_ms=None)})
            entity.remove(message)
    return Reply(body={"messages": out})


def schedule(body: dict[str, Any], context: Context) -> Reply:
    """`schedule-message`: enqueue messages that become visible at their scheduled time."""
    sequence_numbers = []
    for item in _items(body.get("messages")):
        raw = bytes(item["message"])
        try:
            facts = read_facts(split_sections(raw))
        except MalformedMessageError as error:
            return _failure(400, ARGUMENT_ERROR, f"malformed scheduled message: {error}")
        reached = context.registry.publish(context.node, raw, facts, context.now_ms)
        copies = [(entity, entity.last_seq) for entity in reached]
        topic = context.registry.topics.get(context.node)
        if topic is not None:
            sequence_numbers.append(topic.remember_scheduled(copies))
        else:
            sequence_numbers.append(copies[0][1] if copies else 0)
    return Reply(body={"sequence-numbers": sequence_numbers})


def cancel_scheduled(body: dict[str, Any], context: Context) -> Reply:
    """`cancel-scheduled-message`: drop scheduled messages not yet visible."""
    seqs = [int(seq) for seq in _items(body.get("sequence-numbers"))]
    topic = context.registry.topics.get(context.node)
    if topic is None:
        _need_entity(context).cancel_scheduled(seqs)
        return Reply()
    for number in seqs:
        for entity, seq in topic.scheduled.pop(number, []):
            entity.cancel_scheduled([seq])
    return Reply()


def get_session_state(body: dict[str, Any], context: Context) -> Reply:
    """`get-session-state`."""
    entity = _need_entity(context)
    return Reply(body={"session-state": entity.session_states.get(str(body.get("session-id")))})


def set_session_state(body: dict[str, Any], context: Context) -> Reply:
    """`set-session-state`."""
    entity = _need_entity(context)
    state = body.get("session-state")
    entity.set_session_state(str(body.get("session-id")), None if state is None else bytes(state))
    return Reply()


def renew_session_lock(body: dict[str, Any], context: Context) -> Reply:
    """`renew-session-lock`: sessions stay locked while their receiver is attached."""
    entity = _need_entity(context)
    session_id = str(body.get("session-id"))
    if session_id not in entity.session_owners:
        return _failure(410, SESSION_LOCK_LOST, f"session {session_id!r} is not locked")
    return Reply(body={"expiration": timestamp(context.now_ms + entity.lock_ms)})


OPERATIONS: dict[str, Callable[[dict[str, Any], Context], Reply]] = {
    VENDOR + "renew-lock": renew_lock,
    VENDOR + "update-disposition": update_disposition,
    VENDOR + "peek-message": peek,
    VENDOR + "receive-by-sequence-number": receive_by_sequence_number,
    VENDOR + "schedule-message": schedule,
    VENDOR + "cancel-scheduled-message": cancel_scheduled,
    VENDOR + "get-session-state": get_session_state,
    VENDOR + "set-session-state": set_session_state,
    VENDOR + "renew-session-lock": renew_session_lock,
}


def handle(request: Message, context: Context) -> Message:
    """Run one management request and build its response message."""
    properties: dict[Any, Any] = request.properties or {}
    operation = str(properties.get("operation"))
    raw_body: Any = request.body
    body = {str(key): value for key, value in raw_body.items()} if isinstance(raw_body, dict) else {}
    handler = OPERATIONS.get(operation)
    if handler is None:
        reply = _failure(501, NOT_IMPLEMENTED, f"operation {operation!r} is not supported by the devhost broker")
    else:
        try:
            reply = handler(body, context)
        except (LookupError, ValueError, TypeError) as error:
            reply = _failure(400, ARGUMENT_ERROR, str(error))
    reply_properties: dict[str, Any] = {"statusCode": reply.status, "statusDescription": reply.description}
    if reply.condition:
        reply_properties["errorCondition"] = symbol(reply.condition)
    return Message(correlation_id=request.id, properties=reply_properties, body=reply.body)


__all__ = ["OPERATIONS", "Context", "MessageState", "Reply", "handle"]
