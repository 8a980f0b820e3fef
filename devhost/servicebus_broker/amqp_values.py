"""A small, fast decoder of AMQP 1.0 primitive values (the broker's hot path reads a few per message).

proton's Python-level `Data.get_object` costs tens of microseconds per section; the properties and
application properties of a Service Bus message hold only primitives, which this reads directly.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Callable
from typing import Any

_UNPACK: dict[int, tuple[int, Callable[[bytes, int], tuple[Any, ...]]]] = {
    0x50: (1, struct.Struct(">B").unpack_from),  # ubyte
    0x51: (1, struct.Struct(">b").unpack_from),  # byte
    0x52: (1, struct.Struct(">B").unpack_from),  # smalluint
    0x53: (1, struct.Struct(">B").unpack_from),  # smallulong
    0x54: (1, struct.Struct(">b").unpack_from),  # smallint
    0x55: (1, struct.Struct(">b").unpack_from),  # smalllong
    0x60: (2, struct.Struct(">H").unpack_from),  # ushort
    0x61: (2, struct.Struct(">h").unpack_from),  # short
    0x70: (4, struct.Struct(">I").unpack_from),  # uint
    0x71: (4, struct.Struct(">i").unpack_from),  # int
    0x72: (4, struct.Struct(">f").unpack_from),  # float
    0x73: (4, struct.Struct(">I").unpack_from),  # char (as its code point)
    0x80: (8, struct.Struct(">Q").unpack_from),  # ulong
    0x81: (8, struct.Struct(">q").unpack_from),  # long
    0x82: (8, struct.Struct(">d").unpack_from),  # double
    0x83: (8, struct.Struct(">q").unpack_from),  # timestamp (ms since the epoch)
}
_CONSTANTS: dict[int, Any] = {0x40: None, 0x41: True, 0x42: False, 0x43: 0, 0x44: 0}


class AmqpDecodeError(ValueError):
    """The bytes are not a well-formed AMQP value."""


def decode(buf: bytes, pos: int = 0) -> tuple[Any, int]:
    """The value at `pos` and the position after it (described values yield `(descriptor, value)`)."""
    try:
        return _decode(buf, pos)
    except (IndexError, struct.error) as error:
        raise AmqpDecodeError(f"truncated AMQP value at byte {pos}") from error


def _decode(buf: bytes, pos: int) -> tuple[Any, int]:  # noqa: PLR0911 - one branch per encoding family
    code = buf[pos]
    pos += 1
    if code in _CONSTANTS:
        return _CONSTANTS[code], pos
    if code == 0x45:
        return [], pos
    if code == 0x56:
        return buf[pos] != 0, pos + 1
    fixed = _UNPACK.get(code)
    if fixed is not None:
        width, unpack = fixed
        return unpack(buf, pos)[0], pos + width
    if code == 0x98:
        return uuid.UUID(bytes=bytes(buf[pos : pos + 16])), pos + 16
    if code in (0xA0, 0xA1, 0xA3, 0xB0, 0xB1, 0xB3):
        width = 1 if code < 0xB0 else 4
        size = int.from_bytes(buf[pos : pos + width], "big")
        start = pos + width
        raw = bytes(buf[start : start + size])
        if len(raw) != size:
            raise AmqpDecodeError(f"truncated AMQP value at byte {pos}")
        return (raw if code in (0xA0, 0xB0) else raw.decode("utf-8", "replace")), start + size
    if code in (0xC0, 0xC1, 0xD0, 0xD1):
        return _decode_compound(buf, pos, code)
    if code == 0x00:
        descriptor, pos = _decode(buf, pos)
        value, pos = _decode(buf, pos)
        return (descriptor, value), pos
    raise AmqpDecodeError(f"unsupported AMQP format code 0x{code:02x}")


def _decode_compound(buf: bytes, pos: int, code: int) -> tuple[Any, int]:
    """A list (0xC0, 0xD0) or map (0xC1, 0xD1) whose format code has just been read."""
    width = 1 if code < 0xD0 else 4
    count = int.from_bytes(buf[pos + width : pos + 2 * width], "big")
    pos += 2 * width
    items: list[Any] = []
    for _ in range(count):
        item_code = buf[pos]
        if item_code == 0x40:  # nulls and short strings fill most lists and maps: read them without a call
            items.append(None)
            pos += 1
        elif item_code in (0xA1, 0xA3):
            end = pos + 2 + buf[pos + 1]
            if end > len(buf):
                raise AmqpDecodeError(f"truncated AMQP value at byte {pos + 1}")
            items.append(bytes(buf[pos + 2 : end]).decode("utf-8", "replace"))
            pos = end
        else:
            item, pos = _decode(buf, pos)
            items.append(item)
    if code in (0xC0, 0xD0):
        return items, pos
    return dict(zip(items[0::2], items[1::2], strict=True)), pos


def section_value(section: bytes) -> Any:
    """The value of a described message section (`00 53 <code> <value>`)."""
    value, _ = decode(section, 0)
    return value[1]
