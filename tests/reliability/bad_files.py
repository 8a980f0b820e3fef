"""Generated training files that validation must reject, one flaw each, cycling through the kinds."""

from __future__ import annotations

import random

import orjson

GOOD_LINE = {
    "messages": [
        {"role": "system", "content": "You are a support assistant."},
        {"role": "user", "content": "My console shows error code 1234. What should I do?"},
        {"role": "assistant", "content": "Restart the console, then look up error 1234 in Settings."},
    ]
}


def _lines(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    lines = []
    for n in range(count):
        line = orjson.loads(orjson.dumps(GOOD_LINE))
        line["messages"][1]["content"] = f"My console shows error code {seed}-{n}-{rng.randrange(10**6)}. Help?"
        lines.append(orjson.dumps(line))
    return lines


def _not_json(seed: int) -> bytes:
    lines = _lines(12, seed)
    lines[seed % 12] = b"{this is not json"
    return b"\n".join(lines) + b"\n"


def _no_messages(seed: int) -> bytes:
    lines = _lines(12, seed)
    lines[3] = orjson.dumps({"prompt": "hi", "completion": "hello"})
    return b"\n".join(lines) + b"\n"


def _bad_role(seed: int) -> bytes:
    lines = _lines(12, seed)
    lines[5] = orjson.dumps({"messages": [{"role": "wizard", "content": "abracadabra"}]})
    return b"\n".join(lines) + b"\n"


def _too_few(seed: int) -> bytes:
    return b"\n".join(_lines(3, seed)) + b"\n"


def _empty(seed: int) -> bytes:
    return b"" if seed % 2 else b"\n\n\n"


def _binary(seed: int) -> bytes:
    return random.Random(seed).randbytes(2048)


def _no_assistant(seed: int) -> bytes:
    lines = _lines(12, seed)
    lines[0] = orjson.dumps({"messages": [{"role": "user", "content": "only a question"}]})
    return b"\n".join(lines) + b"\n"


def _leaked_key(seed: int) -> bytes:
    lines = _lines(12, seed)
    leak = {"role": "assistant", "content": f"Use AccountKey=LeakedTestKey{seed:08d}AAAAAAAAAAAAAAAAAAAAAAAA=="}
    line = orjson.loads(lines[2])
    line["messages"][2] = leak
    lines[2] = orjson.dumps(line)
    return b"\n".join(lines) + b"\n"


KINDS = (_not_json, _no_messages, _bad_role, _too_few, _empty, _binary, _no_assistant, _leaked_key)


def bad_file(index: int) -> tuple[str, bytes]:
    """The `index`-th bad file: its kind (the generator's name) and its bytes."""
    kind = KINDS[index % len(KINDS)]
    return kind.__name__.strip("_"), kind(index)
