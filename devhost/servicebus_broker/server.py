"""The AMQP 1.0 side of the broker: a proton event handler serving links to entities, `$cbs`, `$management`.

One thread runs the proton container; every event is handled here. Published transfers are
accepted only after the store has committed them (once per burst of events, on `reactor_quiesced`),
so a sender never hears "accepted" for a message a crash could lose.
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar, cast

from proton import Condition, Delivery, Endpoint, Handler, Link, Message, symbol

from devhost.servicebus_broker import management
from devhost.servicebus_broker.codec import (
    MalformedMessageError,
    looks_like_batch,
    read_facts,
    split_sections,
    unpack_batch,
)
from devhost.servicebus_broker.links import (
    Consumer,
    PendingSession,
    dead_letter_details,
    open_like_remote,
    open_session_link,
    refuse,
    session_filter,
)
from devhost.servicebus_broker.nodes import ConnectionState, put_token, queue_reply, send_queued_replies
from devhost.servicebus_broker.queues import Entity
from devhost.servicebus_broker.registry import Registry, normalise_address
from devhost.servicebus_broker.store import Store

_LOG = logging.getLogger(__name__)

CBS = "$cbs"
MANAGEMENT_SUFFIX = "/$management"
OPERATION_TIMEOUT = symbol("com.microsoft:timeout")
INCOMING_CREDIT = 1000
TICK_SECONDS = 0.05
DEFAULT_SESSION_WAIT_MS = 60_000
STOP_GRACE_SECONDS = 0.2


F = TypeVar("F", bound=Callable[..., None])


def _guarded(method: F) -> F:
    """Log an unexpected error of one event handler instead of letting it stop the whole broker."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            method(*args, **kwargs)
        except Exception:
            _LOG.exception("the broker failed to handle %s", method.__name__)

    return cast(F, wrapper)


def now_ms() -> int:
    """Wall-clock milliseconds (message timestamps and locks are wall-clock in Service Bus too)."""
    return int(time.time() * 1000)


class BrokerHandler(Handler):
    """Every AMQP event of the broker."""

    def __init__(self, registry: Registry, store: Store, *, key_name: str, key: str) -> None:
        super().__init__()
        self.registry = registry
        self.store = store
        self._key_name = key_name
        self._key = key
        self._to_accept: list[Any] = []
        self._dirty: set[Entity] = set()
        self._pending_sessions: list[PendingSession] = []
        self._connections: set[Any] = set()
        self._transports: set[Any] = set()
        self._last_prune_ms = 0
        self.stopping = False
        self.container: Any = None
        self.acceptor: Any = None

    # -- connection, session and link lifecycle ---------------------------------------------------------

    def on_connection_bound(self, event: Any) -> None:
        self._transports.add(event.transport)
        sasl = event.transport.sasl()
        sasl.allowed_mechs("ANONYMOUS PLAIN")

    @_guarded
    def on_connection_remote_open(self, event: Any) -> None:
        connection = event.connection
        connection.broker = ConnectionState()
        self._connections.add(connection)
        connection.open()

    def on_session_remote_open(self, event: Any) -> None:
        event.session.open()

    @_guarded
    def on_link_remote_open(self, event: Any) -> None:
        link = event.link
        try:
            self._attach(link)
        except Exception:  # the SDK must get a detach, never a hung attach
            _LOG.exception("attach of link %s failed", link.name)
            refuse(link, "amqp:internal-error", "the broker failed to attach the link")

    @_guarded
    def on_link_remote_close(self, event: Any) -> None:
        self._forget_link(event.link)
        if not event.link.state & Endpoint.LOCAL_CLOSED:
            event.link.close()

    def on_session_remote_close(self, event: Any) -> None:
        if not event.session.state & Endpoint.LOCAL_CLOSED:
            event.session.close()

    @_guarded
    def on_connection_remote_close(self, event: Any) -> None:
        self._forget_connection(event.connection)
        if not event.connection.state & Endpoint.LOCAL_CLOSED:
            event.connection.close()

    @_guarded
    def on_transport_closed(self, event: Any) -> None:
        self._transports.discard(event.transport)
        if event.connection is not None:
            self._forget_connection(event.connection)
            event.connection.free()

    def _forget_connection(self, connection: Any) -> None:
        self._connections.discard(connection)
        link = connection.link_head(0)
        while link is not None:
            self._forget_link(link)
            link = link.next(0)

    def _forget_link(self, link: Any) -> None:
        consumer = getattr(link, "consumer", None)
        if isinstance(consumer, Consumer):
            link.consumer = None
            entity, session_id = consumer.entity, consumer.session_id
            if consumer in entity.consumers:
                entity.consumers.remove(consumer)
            if session_id is not None and entity.session_owners.get(session_id) is consumer:
                del entity.session_owners[session_id]
                self._dirty.add(entity)
        self._pending_sessions = [p for p in self._pending_sessions if p.link is not link]
        state: ConnectionState | None = getattr(link.connection, "broker", None)
        if state is not None:
            for links in state.reply_links.values():
                if link in links:
                    links.remove(link)

    def _attach(self, link: Any) -> None:
        state: ConnectionState = link.connection.broker
        address = link.remote_source.address if link.is_sender else link.remote_target.address
        path = normalise_address(address)
        if path == CBS.lower() or path.endswith(MANAGEMENT_SUFFIX.lower()):
            self._attach_node(link, state, path)
        elif not state.authorized:
            refuse(link, "amqp:unauthorized-access", "put a valid token on $cbs before attaching")
        elif link.is_receiver:
            self._attach_publisher(link, path)
        else:
            self._attach_consumer(link, path)

    def _attach_node(self, link: Any, state: ConnectionState, path: str) -> None:
        node = path.removesuffix(MANAGEMENT_SUFFIX.lower())
        if node != CBS.lower():
            if not state.authorized:
                refuse(link, "amqp:unauthorized-access", "put a token on $cbs first")
                return
            if node not in self.registry.entities and node not in self.registry.topics:
                refuse(link, "amqp:not-found", f"no entity '{node}' on this broker")
                return
        open_like_remote(link)
        link.node = path
        if link.is_sender:
            state.reply_links.setdefault(path, []).append(link)
        else:
            link.flow(100)

    def _attach_publisher(self, link: Any, path: str) -> None:
        if not self.registry.can_send_to(path):
            refuse(link, "amqp:not-found", f"no queue or topic '{path}' on this broker")
            return
        open_like_remote(link)
        link.target_path = path
        link.flow(INCOMING_CREDIT)

    def _attach_consumer(self, link: Any, path: str) -> None:
        entity = self.registry.entities.get(path)
        if entity is None:
            refuse(link, "amqp:not-found", f"no queue or subscription '{path}' on this broker")
            return
        receive_and_delete = link.remote_snd_settle_mode == Link.SND_SETTLED
        if not entity.options.requires_session:
            open_like_remote(link)
            consumer = Consumer(link=link, entity=entity, receive_and_delete=receive_and_delete)
            link.consumer = consumer
            entity.consumers.append(consumer)
            return
        wanted = session_filter(link)
        if wanted is not None:
            if wanted in entity.session_owners:
                refuse(
                    link, "com.microsoft:session-cannot-be-locked", f"session '{wanted}' is locked by another receiver"
                )
            else:
                self._bind_session(link, entity, wanted, receive_and_delete)
            return
        ready = entity.ready_sessions()
        if ready:
            self._bind_session(link, entity, ready[0], receive_and_delete)
            return
        timeout = link.remote_properties.get(OPERATION_TIMEOUT) if link.remote_properties else None
        wait_ms = int(timeout) if timeout else DEFAULT_SESSION_WAIT_MS
        self._pending_sessions.append(PendingSession(link, entity, receive_and_delete, now_ms() + wait_ms))

    def _bind_session(self, link: Any, entity: Entity, session_id: str, receive_and_delete: bool) -> None:
        consumer = Consumer(
            link=link, entity=entity, receive_and_delete=receive_and_delete, session_id=session_id, session_entity=True
        )
        entity.session_owners[session_id] = consumer
        link.consumer = consumer
        entity.consumers.append(consumer)
        open_session_link(link, session_id, now_ms() + entity.lock_ms)
        self._dirty.add(entity)

    def _assign_pending_sessions(self) -> None:
        now = now_ms()
        still: list[PendingSession] = []
        for pending in self._pending_sessions:
            ready = pending.entity.ready_sessions()
            if ready:
                self._bind_session(pending.link, pending.entity, ready[0], pending.receive_and_delete)
            elif pending.deadline_ms <= now:
                refuse(pending.link, "com.microsoft:timeout", "no session became available in time")
            else:
                still.append(pending)
        self._pending_sessions = still

    # -- transfers -------------------------------------------------------------------------------------

    @_guarded
    def on_delivery(self, event: Any) -> None:
        delivery = event.delivery
        link = delivery.link
        if link.is_receiver:
            if delivery.partial or not delivery.readable:
                return
            payload = link.recv(delivery.pending)
            link.advance()
            if link.credit < INCOMING_CREDIT // 2:
                link.flow(INCOMING_CREDIT - link.credit)
            node = getattr(link, "node", None)
            target = getattr(link, "target_path", None)
            if node is not None:
                self._request(link, node, delivery, payload)
            elif target is not None:
                self._publish(target, delivery, payload)
            else:  # a transfer racing the detach of a refused link
                delivery.settle()
        elif delivery.updated:
            self._client_settled(delivery)

    def _publish(self, path: str, delivery: Any, payload: bytes) -> None:
        now = now_ms()
        try:
            sections = split_sections(payload)
            messages = unpack_batch(payload) if looks_like_batch(sections) else [payload]
            parsed = [(raw, read_facts(split_sections(raw))) for raw in messages]
        except (MalformedMessageError, ValueError) as error:
            delivery.local.condition = Condition("amqp:decode-error", f"malformed message: {error}")
            delivery.update(Delivery.REJECTED)
            delivery.settle()
            return
        for _, facts in parsed:
            if facts.message_id is not None and len(facts.message_id) > 128:
                delivery.local.condition = Condition(
                    "amqp:invalid-field", "message_id is longer than 128 characters (Service Bus limit)"
                )
                delivery.update(Delivery.REJECTED)
                delivery.settle()
                return
        for raw, facts in parsed:
            self._dirty.update(self.registry.publish(path, raw, facts, now))
        if delivery.settled:
            return
        self._to_accept.append(delivery)

    def _client_settled(self, delivery: Any) -> None:
        token: uuid.UUID | None = getattr(delivery, "lock_token", None)
        entity: Entity | None = getattr(delivery, "entity", None)
        state = delivery.remote_state
        if token is None or entity is None or state == Delivery.RECEIVED:
            if delivery.settled:
                delivery.settle()
            return
        reason = description = None
        if state == Delivery.ACCEPTED:
            outcome = "complete"
        elif state == Delivery.REJECTED:
            outcome = "dead-letter"
            reason, description = dead_letter_details(delivery)
        elif state == Delivery.RELEASED:
            outcome = "release"
        elif state == Delivery.MODIFIED:
            outcome = "defer" if delivery.remote.undeliverable else "abandon"
        else:
            return
        delivery.lock_token = None
        result = entity.settle(token, outcome, now_ms(), reason=reason, description=description)
        if not delivery.settled:
            if result.error:
                delivery.local.condition = Condition(result.error, result.description)
                delivery.update(Delivery.REJECTED)
            else:
                if state == Delivery.MODIFIED:
                    delivery.local.failed = delivery.remote.failed
                    delivery.local.undeliverable = delivery.remote.undeliverable
                delivery.update(state)
        delivery.settle()
        self._dirty.add(entity)

    # -- delivering ------------------------------------------------------------------------------------

    @_guarded
    def on_link_flow(self, event: Any) -> None:
        link = event.link
        if link.is_sender:
            consumer: Consumer | None = getattr(link, "consumer", None)
            if consumer is not None:
                self._pump(consumer.entity)
                if link.credit > 0 and link.drain_mode:
                    link.drained()
            else:
                send_queued_replies(link.connection)

    def _pump(self, entity: Entity) -> None:
        now = now_ms()
        consumers = [c for c in entity.consumers if c.link.state & Endpoint.LOCAL_ACTIVE]
        while consumers:
            progressed = False
            for consumer in consumers:
                if consumer.link.credit <= 0:
                    continue
                message = entity.take(consumer.session_id, now)
                if message is None:
                    continue
                self._deliver(consumer, message, now)
                progressed = True
            if not progressed:
                break
            entity.consumers.append(entity.consumers.pop(0))

    def _deliver(self, consumer: Consumer, message: Any, now: int) -> None:
        entity = consumer.entity
        link = consumer.link
        if consumer.receive_and_delete:
            payload = message.encode(locked_until_ms=None)
            entity.remove(message)
            delivery = link.delivery(uuid.uuid4().bytes_le)
            link.send(payload)
            link.advance()
            delivery.settle()
            return
        lock = entity.lock(message, None, now)
        payload = message.encode(locked_until_ms=lock.until_ms)
        delivery = link.delivery(lock.token.bytes_le)
        delivery.lock_token = lock.token
        delivery.entity = entity
        lock.owner = delivery
        link.send(payload)
        link.advance()

    # -- request/response nodes ($cbs, $management) ------------------------------------------------

    def _request(self, link: Any, node: str, delivery: Any, payload: bytes) -> None:
        request = Message()
        try:
            request.decode(payload)
        except Exception:  # proton raises its own codec errors; the reply is a rejection either way
            delivery.local.condition = Condition("amqp:decode-error", "malformed request")
            delivery.update(Delivery.REJECTED)
            delivery.settle()
            return
        delivery.update(Delivery.ACCEPTED)
        delivery.settle()
        if node == CBS.lower():
            response = put_token(link.connection.broker, request, key_name=self._key_name, key=self._key)
        else:
            entity_path = node.removesuffix(MANAGEMENT_SUFFIX.lower())
            context = management.Context(
                node=entity_path,
                entity=self.registry.entities.get(entity_path),
                registry=self.registry,
                now_ms=now_ms(),
            )
            response = management.handle(request, context)
            self._dirty.update(context.touched)
            if context.entity is not None:
                self._dirty.add(context.entity)
        queue_reply(link.connection, node, request.reply_to, response.encode())

    # -- time and batching -----------------------------------------------------------------------------

    @_guarded
    def on_reactor_quiesced(self, event: Any) -> None:
        self.flush()

    def flush(self) -> None:
        """Commit queued writes, then accept the transfers they cover and hand out new messages."""
        self.store.flush()
        accepted, self._to_accept = self._to_accept, []
        for delivery in accepted:
            delivery.update(Delivery.ACCEPTED)
            delivery.settle()
        if self._pending_sessions and self._dirty:
            self._assign_pending_sessions()
        dirty, self._dirty = self._dirty, set()
        for entity in dirty:
            self._pump(entity)

    def tick(self) -> None:
        """Expire locks, make scheduled messages visible, drop expired messages (every few ms)."""
        now = now_ms()
        for entity in self.registry.entities.values():
            if entity.locks and entity.expired_locks(now):
                self._dirty.add(entity)
            if entity.due_scheduled(now):
                self._dirty.add(entity)
        if now - self._last_prune_ms > 5_000:
            self._last_prune_ms = now
            for entity in self.registry.entities.values():
                entity.expire_messages(now)
            self.registry.prune(now)
        if self._pending_sessions:
            self._assign_pending_sessions()
        self.flush()

    @_guarded
    def on_timer_task(self, event: Any) -> None:
        if self.stopping:
            return
        event.container.schedule(TICK_SECONDS, self)
        self.tick()

    def on_broker_stop(self, event: Any) -> None:
        self.stopping = True
        self.flush()
        if self.acceptor is not None:
            self.acceptor.close()
        for connection in list(self._connections):
            connection.close()
        self._connections.clear()
        if self.container is not None:
            self.container.schedule(STOP_GRACE_SECONDS, _Finisher(self))

    def finish(self) -> None:
        """Drop the sockets of clients that did not answer the close, then end the event loop."""
        for transport in list(self._transports):
            transport.close_tail()
            transport.close_head()
        self._transports.clear()
        if self.container is not None:
            self.container.stop()


class _Finisher(Handler):
    """The last timer of a stopping broker: clients had their grace period to close."""

    def __init__(self, broker: BrokerHandler) -> None:
        super().__init__()
        self._broker = broker

    def on_timer_task(self, event: Any) -> None:
        self._broker.finish()
