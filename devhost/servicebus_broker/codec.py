"""Just enough of the AMQP 1.0 message format for a broker: split, inspect and re-stamp messages.

A message is stored exactly as its sender encoded it. Only the sections a broker owns (header and
message annotations) are rewritten on delivery, so every other section reaches the receiver byte for
byte. Values inside the small sections are decoded with proton's codec.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from proton import Data, Described, symbol, timestamp, ulong

from devhost.servicebus_broker.amqp_values import AmqpDecodeError, section_value

HEADER = 0x70
DELIVERY_ANNOTATIONS = 0x71
MESSAGE_ANNOTATIONS = 0x72
PROPERTIES = 0x73
APPLICATION_PROPERTIES = 0x74
DATA = 0x75
BATCH_MESSAGE_FORMAT = 0x80013700

_FIXED_WIDTH = {0x4: 0, 0x5: 1, 0x6: 2, 0x7: 4, 0x8: 8, 0x9: 16}
_SIZE_WIDTH = {0xA: 1, 0xB: 4, 0xC: 1, 0xD: 4, 0xE: 1, 0xF: 4}


class MalformedMessageError(ValueError):
    """The bytes are not a well-formed AMQP 1.0 message."""


def _skip(buf: bytes, pos: int) -> int:
    """The position just after the encoded value that starts at `pos`."""
    code = buf[pos]
    if code == 0x00:
        return _skip(buf, _skip(buf, pos + 1))
    category = code >> 4
    if category in _FIXED_WIDTH:
        return pos + 1 + _FIXED_WIDTH[category]
    width = _SIZE_WIDTH.get(category)
    if width is None:
        raise MalformedMessageError(f"unknown AMQP format code 0x{code:02x} at byte {pos}")
    size = int.from_bytes(buf[pos + 1 : pos + 1 + width], "big")
    return pos + 1 + width + size


def _section_code(buf: bytes, pos: int) -> int:
    if buf[pos] != 0x00:
        raise MalformedMessageError(f"expected a described section at byte {pos}")
    if buf[pos + 1] == 0x53:
        return buf[pos + 2]
    if buf[pos + 1] == 0x80:
        return int.from_bytes(buf[pos + 2 : pos + 10], "big")
    return -1  # a symbolic descriptor: kept as it is, never interpreted


def split_sections(buf: bytes) -> list[tuple[int, bytes]]:
    """The message's sections in order, as (section code, encoded bytes)."""
    sections: list[tuple[int, bytes]] = []
    pos = 0
    try:
        while pos < len(buf):
            end = _skip(buf, pos)
            if end > len(buf):
                raise MalformedMessageError("a section runs past the end of the message")
            sections.append((_section_code(buf, pos), buf[pos:end]))
            pos = end
    except IndexError as error:
        raise MalformedMessageError("the message ends inside a value") from error
    return sections


def _data_payload(section: bytes) -> bytes:
    """The bytes carried by a data section (`00 53 75 a0|b0 <len> <bytes>`)."""
    code = section[3]
    width = 1 if code == 0xA0 else 4
    return section[4 + width :]


def unpack_batch(buf: bytes) -> list[bytes]:
    """The messages inside a batch (format 0x80013700): one encoded message per data section."""
    return [_data_payload(section) for code, section in split_sections(buf) if code == DATA]


def _decode_value(section: bytes) -> Any:
    try:
        return section_value(section)
    except (AmqpDecodeError, TypeError):  # arrays and other rarities: proton's full decoder
        return _proton_value(section)


def _proton_value(section: bytes) -> Any:
    data = Data()
    data.decode(section)
    data.rewind()
    data.next()
    described = data.get_object()
    return described.value if isinstance(described, Described) else described


def _encode_section(code: int, value: Any) -> bytes:
    data = Data()
    data.put_object(Described(ulong(code), value))
    return bytes(data.encode())


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


@dataclass
class MessageFacts:
    """What the broker reads from a message: routing, filtering and duplicate-detection inputs."""

    message_id: str | None = None
    session_id: str | None = None
    subject: str | None = None
    correlation_id: str | None = None
    content_type: str | None = None
    to: str | None = None
    reply_to: str | None = None
    ttl_ms: int | None = None
    scheduled_enqueue_ms: int | None = None
    application_properties: dict[str, Any] = field(default_factory=dict)


def read_facts(sections: list[tuple[int, bytes]]) -> MessageFacts:
    """Decode the header, annotations, properties and application properties a broker needs."""
    facts = MessageFacts()
    for code, section in sections:
        if code == HEADER:
            header = _decode_value(section) or []
            if len(header) > 2 and header[2] is not None:
                facts.ttl_ms = int(header[2])
        elif code == MESSAGE_ANNOTATIONS:
            annotations = _decode_value(section) or {}
            scheduled = annotations.get(symbol("x-opt-scheduled-enqueue-time"))
            if scheduled is not None:
                facts.scheduled_enqueue_ms = int(scheduled)
        elif code == PROPERTIES:
            props = list(_decode_value(section) or []) + [None] * 13
            facts.message_id = _text(props[0])
            facts.to = _text(props[2])
            facts.subject = _text(props[3])
            facts.reply_to = _text(props[4])
            facts.correlation_id = _text(props[5])
            facts.content_type = _text(props[6])
            facts.session_id = _text(props[10])
        elif code == APPLICATION_PROPERTIES:
            app = _decode_value(section) or {}
            facts.application_properties = {_text(k) or "": v for k, v in app.items()}
    return facts


@dataclass(frozen=True)
class Stamp:
    """What the broker adds to a message when it hands it out."""

    sequence_number: int
    enqueued_ms: int
    delivery_count: int
    locked_until_ms: int | None = None
    message_state: int = 0
    dead_letter_source: str | None = None


def stamp(sections: list[tuple[int, bytes]], mark: Stamp) -> bytes:
    """The message re-encoded for delivery: a new header and the broker's message annotations."""
    original_annotations: bytes | None = None
    kept: list[bytes] = []
    delivery_annotations = b""
    durable = True
    for code, section in sections:
        if code == HEADER:
            header = _decode_value(section) or []
            durable = bool(header[0]) if header else True
        elif code == DELIVERY_ANNOTATIONS:
            delivery_annotations = section
        elif code == MESSAGE_ANNOTATIONS:
            original_annotations = section
        else:
            kept.append(section)
    header = _encode_header(durable, mark.delivery_count)
    if original_annotations is None:
        annotations = _encode_broker_annotations(mark)
    else:
        merged = dict(_proton_value(original_annotations) or {})
        merged[symbol("x-opt-sequence-number")] = mark.sequence_number
        merged[symbol("x-opt-enqueued-time")] = timestamp(mark.enqueued_ms)
        merged[symbol("x-opt-message-state")] = mark.message_state
        if mark.locked_until_ms is not None:
            merged[symbol("x-opt-locked-until")] = timestamp(mark.locked_until_ms)
        if mark.dead_letter_source is not None:
            merged[symbol("x-opt-deadletter-source")] = mark.dead_letter_source
        annotations = _encode_section(MESSAGE_ANNOTATIONS, merged)
    return b"".join([header, delivery_annotations, annotations, *kept])


def _symbol(name: str) -> bytes:
    raw = name.encode()
    return b"\xa3" + bytes([len(raw)]) + raw


_SEQUENCE = _symbol("x-opt-sequence-number")
_ENQUEUED = _symbol("x-opt-enqueued-time")
_STATE = _symbol("x-opt-message-state")
_LOCKED_UNTIL = _symbol("x-opt-locked-until")
_DEAD_LETTER_SOURCE = _symbol("x-opt-deadletter-source")


def _encode_broker_annotations(mark: Stamp) -> bytes:
    """`message-annotations` with only the broker's entries, encoded directly (the common case)."""
    parts = [
        _SEQUENCE + b"\x81" + mark.sequence_number.to_bytes(8, "big", signed=True),
        _ENQUEUED + b"\x83" + mark.enqueued_ms.to_bytes(8, "big", signed=True),
        _STATE + b"\x71" + mark.message_state.to_bytes(4, "big", signed=True),
    ]
    if mark.locked_until_ms is not None:
        parts.append(_LOCKED_UNTIL + b"\x83" + mark.locked_until_ms.to_bytes(8, "big", signed=True))
    if mark.dead_letter_source is not None:
        source = mark.dead_letter_source.encode()
        parts.append(_DEAD_LETTER_SOURCE + b"\xb1" + len(source).to_bytes(4, "big") + source)
    body = b"".join(parts)
    count = len(parts) * 2
    return b"\x00\x53\x72\xd1" + (len(body) + 4).to_bytes(4, "big") + count.to_bytes(4, "big") + body


def _encode_header(durable: bool, delivery_count: int) -> bytes:
    """`header` = list [durable, priority, ttl, first-acquirer, delivery-count], encoded directly."""
    count = b"\x70" + delivery_count.to_bytes(4, "big")
    fields = (b"\x41" if durable else b"\x42") + b"\x40\x40\x40" + count
    return b"\x00\x53\x70\xc0" + bytes([len(fields) + 1, 5]) + fields


def with_application_properties(sections: list[tuple[int, bytes]], extra: dict[str, Any]) -> bytes:
    """The message with `extra` merged into its application properties (used when dead-lettering)."""
    out: list[bytes] = []
    merged = False
    for code, section in sections:
        if code == APPLICATION_PROPERTIES:
            current = dict(_decode_value(section) or {})
            current.update(extra)
            out.append(_encode_section(APPLICATION_PROPERTIES, current))
            merged = True
            continue
        if not merged and code > APPLICATION_PROPERTIES:
            out.append(_encode_section(APPLICATION_PROPERTIES, dict(extra)))
            merged = True
        out.append(section)
    if not merged:
        out.append(_encode_section(APPLICATION_PROPERTIES, dict(extra)))
    return b"".join(out)


def lock_token_from_tag(tag: bytes) -> uuid.UUID:
    """The SDK reads a message's lock token as `UUID(bytes_le=delivery_tag)`."""
    return uuid.UUID(bytes_le=tag)


def looks_like_batch(sections: list[tuple[int, bytes]]) -> bool:
    """Batches (message format 0x80013700) carry one encoded message per data section.

    proton's Python binding does not expose a delivery's message format, so the shape decides: every
    body section is a data section whose payload is itself a described AMQP section.
    """
    body = [section for code, section in sections if code >= DATA]
    if not body or any(code != DATA for code, _ in sections if code >= DATA):
        return False
    for section in body:
        width = 1 if section[3] == 0xA0 else 4
        payload = section[4 + width : 4 + width + 3]
        if len(payload) < 3 or payload[0] != 0x00 or payload[1] != 0x53 or not 0x70 <= payload[2] <= 0x78:
            return False
    return True
