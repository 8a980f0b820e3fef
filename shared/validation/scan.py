"""Finding leaked secrets and personal data in a raw JSONL line, without ever echoing them.

Every secret we look for contains a run of at least 20 "token characters" (letters, digits, `+/=_-.~%`): a
key, a signature, a token body. Natural text rarely has one, so a line is first translated (one C pass) into
token/non-token bytes and searched for such a run; only lines with one go through the rules, each behind
a cheap substring gate, with the regular expression last. PII checks use the same idea (see `find_pii`).
Findings carry the kind and the column, never the text.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Final


@dataclass(frozen=True)
class ScanHit:
    """A suspicious span of a line: what it looks like and its 1-based byte column."""

    kind: str
    column: int


@dataclass(frozen=True)
class _SecretRule:
    kind: str
    hints: tuple[bytes, ...]
    pattern: re.Pattern[bytes]


# Rules grouped by a gate: a byte string every match contains, rare in chat text, checked first. Single-byte
# gates are found with memchr at memory speed; regular expressions are slow, so they run last and rarely.
_GATED_RULES: Final[tuple[tuple[bytes, tuple[_SecretRule, ...]], ...]] = (
    (
        b"K",
        (
            _SecretRule(
                "a private key block",
                (b"PRIVATE KEY",),
                re.compile(rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
            ),
        ),
    ),
    (
        b"IA",
        (
            _SecretRule(
                "an AWS access key id",
                (b"AKIA", b"ASIA", b"ABIA"),
                re.compile(rb"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA)[A-Z0-9]{16}(?![A-Z0-9])"),
            ),
        ),
    ),
    (
        b"=",
        (
            _SecretRule(
                "an Azure Storage account key (AccountKey=...)",
                (b"ccountKey=", b"ccountkey="),
                re.compile(rb"(?i)AccountKey=[A-Za-z0-9+/]{20,}={0,2}"),
            ),
            _SecretRule(
                "a Service Bus / Event Hubs shared access key (SharedAccessKey=...)",
                (b"ccessKey=", b"ccesskey="),
                re.compile(rb"(?i)SharedAccessKey=[A-Za-z0-9+/]{20,}={0,2}"),
            ),
            _SecretRule(
                "a SAS signature (sig=...)",
                (b"sig=",),
                re.compile(rb"(?<![A-Za-z0-9_])sig=[A-Za-z0-9%+/]{20,}(?:%3D|=){0,2}"),
            ),
        ),
    ),
    (
        b"_",
        (
            _SecretRule(
                "an AWS secret access key",
                (b"ws_secret_access_key", b"WS_SECRET_ACCESS_KEY"),
                re.compile(rb"(?i)aws_secret_access_key\W{1,6}[A-Za-z0-9/+=]{40}"),
            ),
            _SecretRule(
                "a GitHub token",
                (b"ghp_", b"gho_", b"ghs_", b"github_pat_"),
                re.compile(rb"(?:gh[pos]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{60,})"),
            ),
        ),
    ),
    (
        b"z",
        (_SecretRule("a Google Cloud API key", (b"AIza",), re.compile(rb"AIza[0-9A-Za-z_\-]{35}")),),
    ),
    (
        b"~",
        (
            _SecretRule(
                "an Azure AD client secret",
                (b"Q~",),
                re.compile(rb"(?<![A-Za-z0-9_~.\-])[A-Za-z0-9_~.\-]{3}\dQ~[A-Za-z0-9_~.\-]{31,34}(?![A-Za-z0-9_~.\-])"),
            ),
        ),
    ),
    (
        b"earer",
        (_SecretRule("a bearer token", (b"earer",), re.compile(rb"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]{20,}=*")),),
    ),
    (
        b"J",
        (
            _SecretRule(
                "a JSON Web Token",
                (b"eyJ",),
                re.compile(rb"eyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"),
            ),
        ),
    ),
)

_EMAIL: Final = re.compile(rb"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
# Phone and card numbers are found on a copy of the line whose digits all read "0": the pattern then starts
# with the literal "000", which the regex engine finds at memory speed instead of trying every position.
_ZERO_DIGITS: Final = bytes.maketrans(b"0123456789", b"0" * 10)
_NUMBER_RUN: Final = re.compile(rb"000[0 .\-()]{3,26}0")
_NOT_DIGITS: Final = bytes(byte for byte in range(256) if not 0x30 <= byte <= 0x39)
_SEPARATOR: Final = re.compile(rb"\d[ .\-)]+\d")
_NUMBER_BYTES: Final = frozenset(b"0123456789 .-()+")
_LEADING_SEPARATORS: Final = frozenset(b" .-)")
_LAST_GROUP: Final = re.compile(rb"\d{3,}$")


_TOKEN_BYTES: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-.~%"
_TOKEN_RUNS: Final = bytes(0x61 if byte in _TOKEN_BYTES else 0x20 for byte in range(256))
_LONG_RUN: Final = b"a" * 20


_EMAIL_GATE: Final = b"@"


@dataclass
class BlockScan:
    """Findings of one block of lines, by index of the line in the block."""

    secrets: dict[int, list[ScanHit]]
    pii: dict[int, list[ScanHit]]


def scan_block(lines: Sequence[bytes | None]) -> BlockScan:
    """Secrets and PII of many lines at once (None entries are skipped).

    The gates run once over the joined block (one C pass each) and only the lines they point at are scanned
    one by one, so clean lines cost no Python work at all.
    """
    block = b"\n".join(line or b"" for line in lines)
    starts = list(accumulate((len(line or b"") + 1 for line in lines), initial=0))
    secret_lines = _lines_with(block.translate(_TOKEN_RUNS), _LONG_RUN, starts)
    pii_lines = _lines_with(block, _EMAIL_GATE, starts)
    pii_lines.update(bisect_right(starts, m.start()) - 1 for m in _NUMBER_RUN.finditer(block.translate(_ZERO_DIGITS)))
    result = BlockScan({}, {})
    for index in secret_lines:
        hits = find_secrets(lines[index] or b"")
        if hits:
            result.secrets[index] = hits
    for index in pii_lines:
        hits = find_pii(lines[index] or b"")
        if hits:
            result.pii[index] = hits
    return result


def _lines_with(block: bytes, needle: bytes, starts: list[int]) -> set[int]:
    """Indexes of the lines of `block` (line i starts at starts[i]) that contain `needle`."""
    found: set[int] = set()
    position = block.find(needle)
    while position >= 0:
        index = bisect_right(starts, position) - 1
        found.add(index)
        position = block.find(needle, starts[index + 1])
    return found


def find_secrets(line: bytes) -> list[ScanHit]:
    """Secret-looking spans of the line (private keys, cloud keys, connection string keys, tokens)."""
    hits: list[ScanHit] = []
    if _LONG_RUN not in line.translate(_TOKEN_RUNS):
        return hits
    for gate, rules in _GATED_RULES:
        if gate not in line:
            continue
        for rule in rules:
            for hint in rule.hints:
                if hint in line:
                    found = rule.pattern.search(line)
                    if found:
                        hits.append(ScanHit(rule.kind, found.start() + 1))
                    break
    return hits


def find_pii(line: bytes) -> list[ScanHit]:
    """PII-looking spans: email addresses, phone numbers, card numbers that pass the Luhn check."""
    hits: list[ScanHit] = []
    if b"@" in line:
        found = _EMAIL.search(line)
        if found:
            hits.append(ScanHit("email", found.start() + 1))
    zeroed = line.translate(_ZERO_DIGITS)
    if b"000" not in zeroed:
        return hits
    card = phone = False
    for run in _NUMBER_RUN.finditer(zeroed):
        start = _start_of_number(line, run.start())
        text = line[start : run.end()]
        digits = text.translate(None, _NOT_DIGITS)
        if not card and 13 <= len(digits) <= 19 and luhn_valid(digits):
            card = True
            hits.append(ScanHit("card", start + 1))
        elif not phone and _looks_like_phone(text, len(digits)):
            phone = True
            hits.append(ScanHit("phone", start + 1))
    return hits


def _start_of_number(line: bytes, start: int) -> int:
    """Where a number found from its first run of three digits really starts: "+44 20 7946 0958" at "+"."""
    while start > 0 and line[start - 1] in _NUMBER_BYTES:
        start -= 1
    while line[start] in _LEADING_SEPARATORS:
        start += 1
    return start


def _looks_like_phone(text: bytes, digits: int) -> bool:
    if not 9 <= digits <= 15 or _LAST_GROUP.search(text) is None:
        return False
    return text[:1] in (b"+", b"(") or _SEPARATOR.search(text) is not None


def luhn_valid(digits: bytes) -> bool:
    """The Luhn checksum of a string of ASCII digits (what card numbers satisfy)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = char - 48
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0
