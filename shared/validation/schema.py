"""The shape of a valid example, decoded and checked in one pass by msgspec (the fast path).

Lines that do not fit it are parsed again, slowly, to say exactly what is wrong (see `validator`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec


class Message(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """One chat message: what Azure AI Foundry accepts for chat fine-tuning."""

    role: Literal["system", "user", "assistant"]
    content: Annotated[str, msgspec.Meta(min_length=1)]
    name: Any = None
    weight: Literal[0, 1] | msgspec.UnsetType = msgspec.UNSET


class Example(msgspec.Struct, gc=False):
    """One line: a conversation (other top-level keys are ignored)."""

    messages: Annotated[list[Message], msgspec.Meta(min_length=1)]


decode_example = msgspec.json.Decoder(Example).decode
