"""Link-level helpers of the broker: consumers, refusing and opening links, session terminus fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from proton import Condition, Described, Terminus, symbol

from devhost.servicebus_broker.queues import Entity

SESSION_FILTER = symbol("com.microsoft:session-filter")
LOCKED_UNTIL_UTC = symbol("com.microsoft:locked-until-utc")
DOTNET_EPOCH_TICKS = 621355968000000000


@dataclass(eq=False)
class Consumer:
    """A client's receiver: a broker sender link bound to an entity (and a session, if locked)."""

    link: Any
    entity: Entity
    receive_and_delete: bool
    session_id: str | None = None
    session_entity: bool = False


@dataclass(eq=False)
class PendingSession:
    """A next-available-session receiver waiting for a session with messages."""

    link: Any
    entity: Entity
    receive_and_delete: bool
    deadline_ms: int


def refuse(link: Any, condition: str, description: str) -> None:
    """Refuse an attach: a null terminus, then a detach carrying the error (what the SDK expects)."""
    link.source.type = Terminus.UNSPECIFIED
    link.target.type = Terminus.UNSPECIFIED
    link.open()
    link.condition = Condition(condition, description)
    link.close()


def open_like_remote(link: Any) -> None:
    """Attach with the client's addresses and settle modes."""
    link.source.address = link.remote_source.address
    link.target.address = link.remote_target.address
    link.snd_settle_mode = link.remote_snd_settle_mode
    link.rcv_settle_mode = link.remote_rcv_settle_mode
    link.open()


def open_session_link(link: Any, session_id: str, locked_until_ms: int) -> None:
    """Attach a session receiver: the locked session in the source filter, its lock expiry in .NET ticks."""
    link.source.address = link.remote_source.address
    link.target.address = link.remote_target.address
    link.source.filter.put_map()
    link.source.filter.enter()
    link.source.filter.put_symbol(SESSION_FILTER)
    link.source.filter.put_string(session_id)
    link.source.filter.exit()
    link.properties = {LOCKED_UNTIL_UTC: DOTNET_EPOCH_TICKS + locked_until_ms * 10_000}
    link.snd_settle_mode = link.remote_snd_settle_mode
    link.rcv_settle_mode = link.remote_rcv_settle_mode
    link.open()


def session_filter(link: Any) -> str | None:
    """The session a receiver asked for (None: the next available one)."""
    data = link.remote_source.filter
    data.rewind()
    if not data.next():
        return None
    filters: Any = data.get_object()
    if not isinstance(filters, dict):
        return None
    value = filters.get(SESSION_FILTER)
    if isinstance(value, Described):
        value = value.value
    return None if value is None else str(value)


def dead_letter_details(delivery: Any) -> tuple[str | None, str | None]:
    """Reason and description of a dead-letter settlement (the SDK puts them in the error info)."""
    condition = delivery.remote.condition
    if condition is None:
        return None, None
    info = condition.info or {}
    reason = info.get("DeadLetterReason") or info.get(symbol("DeadLetterReason"))
    description = info.get("DeadLetterErrorDescription") or condition.description
    return (None if reason is None else str(reason)), (None if description is None else str(description))
