"""The entities the devhost broker serves: one declaration shared by the broker, the devhost and tests.

In Azure these entities come from Bicep (`infra/`); here they come from `default_namespace()`. Tests
extend it with entities of their own (a session queue, a short lock) through `Namespace.extended`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shared import names

DEVHOST_EVENTS_SUBSCRIPTION = "devhost-events"
"""The subscription `python -m devhost events` reads (by peeking, so every reader sees every event)."""

DAY_SECONDS = 24 * 3600


class CorrelationFilter(BaseModel):
    """A Service Bus correlation filter: every given field must equal the message's (AND)."""

    model_config = ConfigDict(frozen=True)

    subject: str | None = Field(None, description="The message's subject (label).")
    correlation_id: str | None = Field(None, description="The message's correlation id.")
    content_type: str | None = Field(None, description="The message's content type.")
    application_properties: dict[str, str | int | bool] = Field(
        default_factory=dict, description="Application properties that must all be present with these values."
    )


class EntityOptions(BaseModel):
    """Behaviour shared by queues and subscriptions (the names follow the Service Bus properties)."""

    model_config = ConfigDict(frozen=True)

    lock_duration_seconds: float = Field(60.0, gt=0, description="How long a peek-lock holds a message.")
    max_delivery_count: int = Field(10, ge=1, description="Deliveries before a message is dead-lettered.")
    requires_session: bool = Field(False, description="Receivers must lock a session.")
    default_message_ttl_seconds: float = Field(14 * DAY_SECONDS, gt=0, description="Messages expire after this.")
    dead_lettering_on_expiration: bool = Field(False, description="Expired messages go to the dead-letter queue.")


class QueueSpec(EntityOptions):
    """A queue."""

    name: str
    duplicate_detection_window_seconds: float = Field(600.0, ge=0, description="0 disables duplicate detection.")


class SubscriptionSpec(EntityOptions):
    """A topic subscription; without a filter it receives every message of its topic."""

    name: str
    filter: CorrelationFilter | None = None


class TopicSpec(BaseModel):
    """A topic and its subscriptions."""

    model_config = ConfigDict(frozen=True)

    name: str
    duplicate_detection_window_seconds: float = Field(600.0, ge=0, description="0 disables duplicate detection.")
    subscriptions: tuple[SubscriptionSpec, ...] = ()


class Namespace(BaseModel):
    """Every entity of one broker."""

    model_config = ConfigDict(frozen=True)

    queues: tuple[QueueSpec, ...] = ()
    topics: tuple[TopicSpec, ...] = ()

    def extended(self, *, queues: tuple[QueueSpec, ...] = (), topics: tuple[TopicSpec, ...] = ()) -> Namespace:
        """This namespace plus more entities (names must not clash)."""
        return Namespace(queues=self.queues + queues, topics=self.topics + topics)


def default_namespace() -> Namespace:
    """What the service uses: topic `finetune-events` and queue `finetune-commands` (DESIGN section 5)."""
    return Namespace(
        queues=(QueueSpec(name=names.COMMANDS_QUEUE, max_delivery_count=5),),
        topics=(
            TopicSpec(
                name=names.EVENTS_TOPIC,
                subscriptions=(
                    SubscriptionSpec(name=names.ALL_EVENTS_SUBSCRIPTION, default_message_ttl_seconds=DAY_SECONDS),
                    SubscriptionSpec(
                        name=names.FAILURES_SUBSCRIPTION,
                        filter=CorrelationFilter(application_properties={"outcome": "failed"}),
                        default_message_ttl_seconds=DAY_SECONDS,
                    ),
                    SubscriptionSpec(name=DEVHOST_EVENTS_SUBSCRIPTION, default_message_ttl_seconds=DAY_SECONDS),
                ),
            ),
        ),
    )
