"""The broker's in-memory model: entities holding messages, locks, sessions and duplicate ids.

Everything here runs on the broker's single event-loop thread; each change is also queued on the
`Store`. Nothing here knows AMQP links: the server asks for the next message for a consumer and
reports settlements back.
"""

from __future__ import annotations

import heapq
import uuid
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from devhost.servicebus_broker.codec import MessageFacts, Stamp, split_sections, stamp, with_application_properties
from devhost.servicebus_broker.entities import CorrelationFilter, EntityOptions
from devhost.servicebus_broker.filters import matches
from devhost.servicebus_broker.store import Store, StoredRow

DEAD_LETTER_SUFFIX = "/$deadletterqueue"
MAX_DELIVERY_COUNT_EXCEEDED = "MaxDeliveryCountExceeded"
TTL_EXPIRED = "TTLExpiredException"


class MessageState(IntEnum):
    """`x-opt-message-state` as the SDK reads it."""

    ACTIVE = 0
    DEFERRED = 1
    SCHEDULED = 2


@dataclass(eq=False)
class Lock:
    """A peek-lock on one message, held by one delivery (or by a management receive)."""

    token: uuid.UUID
    until_ms: int
    owner: Any = None


@dataclass(eq=False)
class StoredMessage:
    """One message in one entity."""

    seq: int
    raw: bytes
    message_id: str | None
    session_id: str | None
    enqueued_ms: int
    expires_ms: int | None
    delivery_count: int = 0
    state: MessageState = MessageState.ACTIVE
    visible_ms: int | None = None
    dead_letter_source: str | None = None
    lock: Lock | None = None
    ready: bool = False
    _sections: list[tuple[int, bytes]] | None = None

    @property
    def sections(self) -> list[tuple[int, bytes]]:
        """The message's AMQP sections (split once, on first use)."""
        if self._sections is None:
            self._sections = split_sections(self.raw)
        return self._sections

    def encode(self, *, locked_until_ms: int | None) -> bytes:
        """The message as delivered: the stored sections plus the broker's header and annotations."""
        return stamp(
            self.sections,
            Stamp(
                sequence_number=self.seq,
                enqueued_ms=self.enqueued_ms,
                delivery_count=self.delivery_count,
                locked_until_ms=locked_until_ms,
                message_state=int(self.state),
                dead_letter_source=self.dead_letter_source,
            ),
        )


class DuplicateDetector:
    """Message ids seen within a window, per queue or topic."""

    def __init__(self, scope: str, window_ms: int, store: Store) -> None:
        self.scope = scope
        self.window_ms = window_ms
        self._store = store
        self._seen: dict[str, int] = {}

    def remember(self, message_id: str, expires_ms: int) -> None:
        """Restore a remembered id (at load)."""
        self._seen[message_id] = expires_ms

    def is_duplicate(self, message_id: str | None, now_ms: int) -> bool:
        """Whether the id was seen in the window; records it otherwise."""
        if not self.window_ms or message_id is None:
            return False
        expires = self._seen.get(message_id)
        if expires is not None and expires >= now_ms:
            return True
        self._seen[message_id] = now_ms + self.window_ms
        self._store.duplicate(self.scope, message_id, now_ms + self.window_ms)
        return False

    def prune(self, now_ms: int) -> None:
        """Forget ids whose window has passed."""
        self._seen = {key: expires for key, expires in self._seen.items() if expires >= now_ms}


@dataclass
class SettleResult:
    """What a settlement did; `error` is an AMQP condition when it could not be applied."""

    error: str | None = None
    description: str | None = None


class Entity:
    """A queue, a subscription or a dead-letter queue."""

    def __init__(self, path: str, options: EntityOptions, store: Store, *, dead_letter: Entity | None) -> None:
        self.path = path
        self.options = options
        self.dead_letter = dead_letter
        self.lock_ms = int(options.lock_duration_seconds * 1000)
        self._store = store
        self.messages: dict[int, StoredMessage] = {}
        self.locks: dict[uuid.UUID, StoredMessage] = {}
        self.last_seq = 0
        self._ready: dict[str | None, list[int]] = {}
        self.session_states: dict[str, bytes | None] = {}
        self.session_owners: dict[str, Any] = {}
        self.consumers: list[Any] = []
        self.scheduled = 0

    # -- adding -------------------------------------------------------------------------------------

    def enqueue(self, raw: bytes, facts: MessageFacts, now_ms: int, *, dead_letter_source: str | None = None) -> int:
        """Store a new message; returns its sequence number."""
        self.last_seq += 1
        ttl_ms = int(self.options.default_message_ttl_seconds * 1000)
        if facts.ttl_ms:
            ttl_ms = min(ttl_ms, facts.ttl_ms)
        scheduled = facts.scheduled_enqueue_ms is not None and facts.scheduled_enqueue_ms > now_ms
        message = StoredMessage(
            seq=self.last_seq,
            raw=raw,
            message_id=facts.message_id,
            session_id=facts.session_id if self.options.requires_session else None,
            enqueued_ms=now_ms,
            expires_ms=None if dead_letter_source is not None else now_ms + ttl_ms,
            state=MessageState.SCHEDULED if scheduled else MessageState.ACTIVE,
            visible_ms=facts.scheduled_enqueue_ms if scheduled else None,
            dead_letter_source=dead_letter_source,
        )
        self.messages[message.seq] = message
        self._store.insert(self._row(message))
        self._store.last_sequence(self.path, self.last_seq)
        if scheduled:
            self.scheduled += 1
        else:
            self._make_ready(message)
        return message.seq

    def restore(self, row: StoredRow) -> None:
        """Load a persisted message at start-up."""
        message = StoredMessage(
            seq=row.seq,
            raw=row.raw,
            message_id=row.message_id,
            session_id=row.session_id,
            enqueued_ms=row.enqueued_ms,
            expires_ms=row.expires_ms,
            delivery_count=row.delivery_count,
            state=MessageState(row.state),
            visible_ms=row.visible_ms,
            dead_letter_source=row.dead_letter_source,
        )
        self.messages[message.seq] = message
        self.last_seq = max(self.last_seq, message.seq)
        if message.state is MessageState.ACTIVE:
            self._make_ready(message)
        elif message.state is MessageState.SCHEDULED:
            self.scheduled += 1

    def _row(self, message: StoredMessage) -> StoredRow:
        return StoredRow(
            entity=self.path,
            seq=message.seq,
            raw=message.raw,
            message_id=message.message_id,
            session_id=message.session_id,
            enqueued_ms=message.enqueued_ms,
            expires_ms=message.expires_ms,
            delivery_count=message.delivery_count,
            state=int(message.state),
            visible_ms=message.visible_ms,
            dead_letter_source=message.dead_letter_source,
        )

    def _make_ready(self, message: StoredMessage) -> None:
        if not message.ready:
            message.ready = True
            heapq.heappush(self._ready.setdefault(message.session_id, []), message.seq)

    # -- taking ---------------------------------------------------------------------------------------

    def take(self, session_id: str | None, now_ms: int) -> StoredMessage | None:
        """The next available message (of the session, for session entities), or None."""
        heap = self._ready.get(session_id)
        while heap:
            seq = heapq.heappop(heap)
            message = self.messages.get(seq)
            if message is None or not message.ready:
                continue
            message.ready = False
            if message.expires_ms is not None and message.expires_ms <= now_ms:
                self._expire(message, now_ms)
                continue
            return message
        return None

    def lock(self, message: StoredMessage, owner: Any, now_ms: int) -> Lock:
        """Lock a taken message for a peek-lock delivery."""
        lock = Lock(token=uuid.uuid4(), until_ms=now_ms + self.lock_ms, owner=owner)
        message.lock = lock
        self.locks[lock.token] = message
        return lock

    def remove(self, message: StoredMessage) -> None:
        """Delete a message (completed, received-and-deleted, expired, or moved)."""
        self.messages.pop(message.seq, None)
        if message.lock is not None:
            self.locks.pop(message.lock.token, None)
            message.lock = None
        message.ready = False
        self._store.delete(self.path, message.seq)

    def ready_sessions(self) -> list[str]:
        """Session ids with available messages and no owner, oldest first."""
        found: list[tuple[int, str]] = []
        for session_id, heap in self._ready.items():
            if session_id is None or session_id in self.session_owners:
                continue
            while heap and not (self.messages.get(heap[0]) and self.messages[heap[0]].ready):
                heapq.heappop(heap)
            if heap:
                found.append((heap[0], session_id))
        return [session_id for _, session_id in sorted(found)]

    # -- settling ---------------------------------------------------------------------------------------

    def _locked(self, token: uuid.UUID, now_ms: int) -> StoredMessage | None:
        message = self.locks.get(token)
        if message is None or message.lock is None or message.lock.until_ms < now_ms:
            return None
        return message

    def settle(
        self,
        token: uuid.UUID,
        outcome: str,
        now_ms: int,
        *,
        reason: str | None = None,
        description: str | None = None,
    ) -> SettleResult:
        """Apply `complete`, `abandon`, `release`, `defer` or `dead-letter` to a locked message."""
        message = self._locked(token, now_ms)
        if message is None:
            return SettleResult(
                "com.microsoft:message-lock-lost",
                "The lock on the message is lost: it expired or the message was already settled.",
            )
        self.locks.pop(token, None)
        message.lock = None
        if outcome == "complete":
            self.remove(message)
        elif outcome == "abandon":
            self._redeliver(message, now_ms, count=True)
        elif outcome == "release":
            self._redeliver(message, now_ms, count=False)
        elif outcome == "defer":
            message.state = MessageState.DEFERRED
            self._persist(message)
        else:
            self.dead_letter_message(message, reason, description, now_ms)
        return SettleResult()

    def renew(self, token: uuid.UUID, now_ms: int) -> int | None:
        """Extend a lock; returns the new expiry (ms) or None when the lock is lost."""
        message = self._locked(token, now_ms)
        if message is None or message.lock is None:
            return None
        message.lock.until_ms = now_ms + self.lock_ms
        return message.lock.until_ms

    def _redeliver(self, message: StoredMessage, now_ms: int, *, count: bool) -> None:
        if count:
            message.delivery_count += 1
            if message.delivery_count >= self.options.max_delivery_count and self.dead_letter is not None:
                self.dead_letter_message(
                    message,
                    MAX_DELIVERY_COUNT_EXCEEDED,
                    f"Message could not be consumed after {self.options.max_delivery_count} delivery attempts.",
                    now_ms,
                )
                return
        message.state = MessageState.ACTIVE
        self._persist(message)
        self._make_ready(message)

    def _persist(self, message: StoredMessage) -> None:
        self._store.update(
            self.path,
            message.seq,
            delivery_count=message.delivery_count,
            state=int(message.state),
            visible_ms=message.visible_ms,
        )

    def dead_letter_message(
        self, message: StoredMessage, reason: str | None, description: str | None, now_ms: int
    ) -> None:
        """Move a message to this entity's dead-letter queue with its reason."""
        self.remove(message)
        if self.dead_letter is None:
            return
        extra = {"DeadLetterReason": reason or "", "DeadLetterErrorDescription": description or ""}
        raw = with_application_properties(message.sections, extra)
        facts = MessageFacts(message_id=message.message_id, session_id=message.session_id)
        seq = self.dead_letter.enqueue(raw, facts, now_ms, dead_letter_source=self.path)
        moved = self.dead_letter.messages[seq]
        moved.delivery_count = message.delivery_count
        moved.enqueued_ms = message.enqueued_ms

    def _expire(self, message: StoredMessage, now_ms: int) -> None:
        if self.options.dead_lettering_on_expiration:
            self.dead_letter_message(message, TTL_EXPIRED, "The message expired.", now_ms)
        else:
            self.remove(message)

    # -- time -----------------------------------------------------------------------------------------------

    def expired_locks(self, now_ms: int) -> list[StoredMessage]:
        """Release locks that ran out (the delivery counts as failed) and return their messages."""
        lost = [message for message in self.locks.values() if message.lock and message.lock.until_ms < now_ms]
        for message in lost:
            assert message.lock is not None
            self.locks.pop(message.lock.token, None)
            message.lock = None
            self._redeliver(message, now_ms, count=True)
        return lost

    def due_scheduled(self, now_ms: int) -> bool:
        """Make scheduled messages whose time came available; whether any did."""
        changed = False
        if not self.scheduled:
            return changed
        for message in self.messages.values():
            if message.state is MessageState.SCHEDULED and (message.visible_ms or 0) <= now_ms:
                self.scheduled -= 1
                message.state = MessageState.ACTIVE
                message.visible_ms = None
                self._persist(message)
                self._make_ready(message)
                changed = True
        return changed

    def expire_messages(self, now_ms: int) -> None:
        """Drop (or dead-letter) unlocked messages whose time to live has passed."""
        for message in [m for m in self.messages.values() if m.expires_ms is not None and m.expires_ms <= now_ms]:
            if message.lock is None and message.state is not MessageState.SCHEDULED:
                self._expire(message, now_ms)

    # -- browsing -----------------------------------------------------------------------------------------

    def peek(self, from_seq: int, count: int, session_id: str | None) -> list[StoredMessage]:
        """Up to `count` messages from `from_seq` on, without locking them."""
        found: list[StoredMessage] = []
        for seq in sorted(s for s in self.messages if s >= from_seq):
            message = self.messages[seq]
            if session_id is not None and message.session_id != session_id:
                continue
            found.append(message)
            if len(found) >= count:
                break
        return found

    def deferred(self, seqs: list[int]) -> list[StoredMessage]:
        """Deferred messages with these sequence numbers."""
        return [
            self.messages[seq]
            for seq in seqs
            if seq in self.messages and self.messages[seq].state is MessageState.DEFERRED
        ]

    def cancel_scheduled(self, seqs: list[int]) -> None:
        """Drop scheduled messages that have not been enqueued yet."""
        for seq in seqs:
            message = self.messages.get(seq)
            if message is not None and message.state is MessageState.SCHEDULED:
                self.scheduled -= 1
                self.remove(message)

    def set_session_state(self, session_id: str, state: bytes | None) -> None:
        """Store a session's state."""
        self.session_states[session_id] = state
        self._store.session_state(self.path, session_id, state)


@dataclass
class Topic:
    """A topic: duplicate detection, then a copy to every subscription whose filter matches."""

    name: str
    duplicates: DuplicateDetector
    subscriptions: list[tuple[Entity, CorrelationFilter | None]] = field(default_factory=list)
    scheduled: dict[int, list[tuple[Entity, int]]] = field(default_factory=dict)
    _last_scheduled: int = 0

    def remember_scheduled(self, copies: list[tuple[Entity, int]]) -> int:
        """A topic-level number for a scheduled message's copies, for `cancel-scheduled-message`.

        Kept in memory only: after a restart, scheduled topic messages are still delivered on time but
        can no longer be cancelled.
        """
        self._last_scheduled += 1
        self.scheduled[self._last_scheduled] = copies
        return self._last_scheduled

    def publish(self, raw: bytes, facts: MessageFacts, now_ms: int) -> list[Entity]:
        """Fan a message out; returns the subscriptions that got it."""
        if self.duplicates.is_duplicate(facts.message_id, now_ms):
            return []
        reached = [entity for entity, rule in self.subscriptions if matches(rule, facts)]
        for entity in reached:
            entity.enqueue(raw, facts, now_ms)
        return reached
