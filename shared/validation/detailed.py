"""The detailed checks for a line off the fast path: parse it again and say exactly what is wrong.

Valid lines never come here (msgspec decodes and checks them in one pass, see `schema`); any line that does
gets every problem reported with its code, and the same verdict as the fast path would give (a property
test holds the two equal).
"""

from __future__ import annotations

from typing import Any, Final

import msgspec
import orjson

from shared.validation.codes import ErrorCode
from shared.validation.findings import FindingCollector
from shared.validation.schema import Message

ROLES: Final = frozenset({"system", "user", "assistant"})
MESSAGE_KEYS: Final = frozenset({"role", "content", "name", "weight"})
_MISSING: Final = object()


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _short(value: object) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return repr(text if len(text) <= 24 else text[:24] + "...")


class DetailedCheck:
    """Parses a line with orjson and checks it key by key, reporting every problem it finds."""

    def __init__(self, errors: FindingCollector) -> None:
        self.errors = errors

    def messages(self, number: int, line: bytes) -> list[Message] | None:
        """The line's messages, or None (with its errors reported) when it is not a valid example."""
        try:
            example = orjson.loads(line)
        except orjson.JSONDecodeError as error:
            self._parse_error(number, line, error)
            return None
        checked = self._check_structure(number, example)
        if checked is None:
            return None
        return [
            Message(role=m["role"], content=m["content"], name=m.get("name"), weight=m.get("weight", msgspec.UNSET))
            for m in checked
        ]

    def _parse_error(self, number: int, line: bytes, error: orjson.JSONDecodeError) -> None:
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as bad:
            self.errors.add(
                ErrorCode.NOT_UTF8,
                number,
                f"byte {bad.start + 1} is not valid UTF-8; save the file as UTF-8",
            )
            return
        detail = str(error)
        if "depth limit" in detail or "recursion" in detail.lower():
            self.errors.add(
                ErrorCode.NESTING_TOO_DEEP,
                number,
                "JSON nested more than 1024 levels deep; an example is a flat list of messages",
            )
            return
        self.errors.add(
            ErrorCode.INVALID_JSON,
            number,
            f"not valid JSON ({detail}); each line must be one JSON object like "
            '{"messages": [{"role": "user", "content": "..."}, ...]}',
        )

    def _check_structure(self, number: int, example: object) -> list[Any] | None:
        add = self.errors.add
        if type(example) is not dict:
            add(ErrorCode.NOT_AN_OBJECT, number, f'the line is {_json_type(example)}; expected {{"messages": [...]}}')
            return None
        messages = example.get("messages", _MISSING)
        if messages is _MISSING:
            add(ErrorCode.MISSING_MESSAGES, number, 'the object has no "messages" key; expected {"messages": [...]}')
            return None
        if type(messages) is not list:
            add(ErrorCode.MESSAGES_NOT_A_LIST, number, f'"messages" is {_json_type(messages)}; it must be a list')
            return None
        if not messages:
            add(ErrorCode.EMPTY_MESSAGES, number, '"messages" is an empty list')
            return None
        ok = True
        has_assistant = False
        for index, message in enumerate(messages, 1):
            if type(message) is not dict:
                add(ErrorCode.MESSAGE_NOT_AN_OBJECT, number, f"message {index} is {_json_type(message)}, not an object")
                ok = False
                continue
            ok = self._check_message(number, index, message) and ok
            has_assistant = has_assistant or message.get("role") == "assistant"
        if ok and not has_assistant:
            add(ErrorCode.NO_ASSISTANT_MESSAGE, number, "the example has no assistant message to learn from")
            return None
        return messages if ok else None

    def _check_message(self, number: int, index: int, message: dict[str, Any]) -> bool:
        add = self.errors.add
        ok = True
        if not MESSAGE_KEYS.issuperset(message):
            unknown = ", ".join(_short(key) for key in message if key not in MESSAGE_KEYS)
            add(
                ErrorCode.UNKNOWN_MESSAGE_KEY,
                number,
                f"message {index} has unrecognised key(s) {unknown}; allowed: role, content, name, weight",
            )
            ok = False
        role = message.get("role", _MISSING)
        if role is _MISSING:
            add(ErrorCode.MISSING_ROLE, number, f'message {index} has no "role"')
            ok = False
        elif type(role) is not str or role not in ROLES:
            add(
                ErrorCode.INVALID_ROLE,
                number,
                f"message {index} has role {_short(role)}; use system, user or assistant",
            )
            ok = False
        content = message.get("content", _MISSING)
        if content is _MISSING:
            add(ErrorCode.MISSING_CONTENT, number, f'message {index} has no "content"')
            ok = False
        elif type(content) is not str:
            add(
                ErrorCode.CONTENT_NOT_STRING,
                number,
                f'message {index} "content" is {_json_type(content)}; it must be a string',
            )
            ok = False
        elif not content or content.isspace():
            add(ErrorCode.EMPTY_CONTENT, number, f'message {index} has empty "content"')
            ok = False
        if "weight" in message:
            ok = self._check_weight(number, index, role, message["weight"]) and ok
        return ok

    def _check_weight(self, number: int, index: int, role: object, weight: object) -> bool:
        if role != "assistant":
            self.errors.add(
                ErrorCode.WEIGHT_ON_NON_ASSISTANT,
                number,
                f'message {index} is not an assistant message; only assistant messages take "weight"',
            )
            return False
        if type(weight) is not int or weight not in (0, 1):
            self.errors.add(
                ErrorCode.INVALID_WEIGHT, number, f'message {index} has "weight" {_short(weight)}; use 0 or 1'
            )
            return False
        return True
