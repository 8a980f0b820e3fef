"""The broker's entities by address, built from a `Namespace` declaration and restored from the store."""

from __future__ import annotations

from devhost.servicebus_broker.codec import MessageFacts
from devhost.servicebus_broker.entities import EntityOptions, Namespace
from devhost.servicebus_broker.queues import DEAD_LETTER_SUFFIX, DuplicateDetector, Entity, Topic
from devhost.servicebus_broker.store import Store

_DEAD_LETTER_OPTIONS = EntityOptions(default_message_ttl_seconds=10 * 365 * 24 * 3600, max_delivery_count=1_000_000)


def normalise_address(address: str | None) -> str:
    """An entity path from a link address: `amqp://host:port/Topic/Subscriptions/S` -> `topic/subscriptions/s`."""
    text = (address or "").strip()
    if "://" in text:
        text = text.split("://", 1)[1]
        text = text.split("/", 1)[1] if "/" in text else ""
    return text.strip("/").lower()


class Registry:
    """Every queue, topic, subscription and dead-letter queue of one broker."""

    def __init__(self, namespace: Namespace, store: Store) -> None:
        self._store = store
        self.entities: dict[str, Entity] = {}
        self.topics: dict[str, Topic] = {}
        self.queue_duplicates: dict[str, DuplicateDetector] = {}
        for queue in namespace.queues:
            path = queue.name.lower()
            self._add_entity(path, queue)
            window_ms = int(queue.duplicate_detection_window_seconds * 1000)
            self.queue_duplicates[path] = DuplicateDetector(path, window_ms, store)
        for topic_spec in namespace.topics:
            name = topic_spec.name.lower()
            window_ms = int(topic_spec.duplicate_detection_window_seconds * 1000)
            topic = Topic(name=name, duplicates=DuplicateDetector(name, window_ms, store))
            for subscription in topic_spec.subscriptions:
                entity = self._add_entity(f"{name}/subscriptions/{subscription.name.lower()}", subscription)
                topic.subscriptions.append((entity, subscription.filter))
            self.topics[name] = topic
        self._restore()

    def _add_entity(self, path: str, options: EntityOptions) -> Entity:
        if path in self.entities or path in self.topics:
            raise ValueError(f"entity {path!r} is declared twice")
        dead_letter = Entity(path + DEAD_LETTER_SUFFIX, _DEAD_LETTER_OPTIONS, self._store, dead_letter=None)
        entity = Entity(path, options, self._store, dead_letter=dead_letter)
        self.entities[path] = entity
        self.entities[dead_letter.path] = dead_letter
        return entity

    def _restore(self) -> None:
        for row in self._store.messages():
            entity = self.entities.get(row.entity)
            if entity is not None:
                entity.restore(row)
        for path, last_seq in self._store.sequences().items():
            if path in self.entities:
                self.entities[path].last_seq = max(self.entities[path].last_seq, last_seq)
        detectors = {**self.queue_duplicates, **{name: topic.duplicates for name, topic in self.topics.items()}}
        for scope, message_id, expires_ms in self._store.duplicates():
            if scope in detectors:
                detectors[scope].remember(message_id, expires_ms)
        for path, session_id, state in self._store.session_states():
            if path in self.entities:
                self.entities[path].session_states[session_id] = state

    def can_send_to(self, path: str) -> bool:
        """Whether a sender may attach to this address (a queue or a topic)."""
        return path in self.topics or path in self.queue_duplicates

    def publish(self, path: str, raw: bytes, facts: MessageFacts, now_ms: int) -> list[Entity]:
        """Route a message to a queue or a topic's subscriptions; returns the entities that got it."""
        topic = self.topics.get(path)
        if topic is not None:
            return topic.publish(raw, facts, now_ms)
        if self.queue_duplicates[path].is_duplicate(facts.message_id, now_ms):
            return []
        entity = self.entities[path]
        entity.enqueue(raw, facts, now_ms)
        return [entity]

    def prune(self, now_ms: int) -> None:
        """Forget duplicate-detection ids whose window has passed."""
        for detector in [*self.queue_duplicates.values(), *(topic.duplicates for topic in self.topics.values())]:
            detector.prune(now_ms)
        self._store.prune_duplicates(now_ms)
