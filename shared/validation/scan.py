"""Finding leaked secrets and personal data in a raw JSONL line, without ever echoing them.

Each line is first checked for cheap literal hints (substring search runs at memory speed); the regular
expressions only run on lines that contain one. Findings carry the kind and the column, never the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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


_SECRET_RULES: Final = (
    _SecretRule(
        "a private key block",
        (b"PRIVATE KEY",),
        re.compile(rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    ),
    _SecretRule(
        "an AWS access key id",
        (b"AKIA", b"ASIA", b"ABIA", b"ACCA"),
        re.compile(rb"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])"),
    ),
    _SecretRule(
        "an AWS secret access key",
        (b"ws_secret_access_key", b"WS_SECRET_ACCESS_KEY"),
        re.compile(rb"(?i)aws_secret_access_key\W{1,6}[A-Za-z0-9/+=]{40}"),
    ),
    _SecretRule(
        "a Google Cloud API key",
        (b"AIza",),
        re.compile(rb"AIza[0-9A-Za-z_\-]{35}"),
    ),
    _SecretRule(
        "an Azure Storage account key (AccountKey=...)",
        (b"ccountKey=",),
        re.compile(rb"(?i)AccountKey=[A-Za-z0-9+/]{20,}={0,2}"),
    ),
    _SecretRule(
        "a Service Bus / Event Hubs shared access key (SharedAccessKey=...)",
        (b"ccessKey=",),
        re.compile(rb"(?i)SharedAccessKey=[A-Za-z0-9+/]{20,}={0,2}"),
    ),
    _SecretRule(
        "a SAS signature (sig=...)",
        (b"sig=",),
        re.compile(rb"(?<![A-Za-z0-9_])sig=[A-Za-z0-9%+/]{20,}(?:%3D|=){0,2}"),
    ),
    _SecretRule(
        "an Azure AD client secret",
        (b"Q~",),
        re.compile(rb"(?<![A-Za-z0-9_~.\-])[A-Za-z0-9_~.\-]{3}\dQ~[A-Za-z0-9_~.\-]{31,34}(?![A-Za-z0-9_~.\-])"),
    ),
    _SecretRule(
        "a bearer token",
        (b"earer",),
        re.compile(rb"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]{20,}=*"),
    ),
    _SecretRule(
        "a JSON Web Token",
        (b"eyJ",),
        re.compile(rb"eyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"),
    ),
    _SecretRule(
        "a GitHub token",
        (b"ghp_", b"gho_", b"ghs_", b"github_pat_"),
        re.compile(rb"(?:gh[pos]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{60,})"),
    ),
)

_EMAIL: Final = re.compile(rb"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
# A run of digits with the separators phone and card numbers use; told apart later by the digits themselves.
_DIGIT_RUN: Final = re.compile(rb"\+?[(\d][\d .\-()]{7,28}\d(?![0-9])")
_SEPARATOR: Final = re.compile(rb"\d[ .\-)]+\d")
_LAST_GROUP: Final = re.compile(rb"\d{3,}$")
_NINE_DIGITS_HINT: Final = re.compile(rb"\d[\d .\-()]{8}")


def find_secrets(line: bytes) -> list[ScanHit]:
    """Secret-looking spans of the line (private keys, cloud keys, connection string keys, tokens)."""
    hits: list[ScanHit] = []
    for rule in _SECRET_RULES:
        if any(hint in line for hint in rule.hints):
            found = rule.pattern.search(line)
            if found:
                hits.append(ScanHit(rule.kind, found.start() + 1))
    return hits


def find_pii(line: bytes) -> list[ScanHit]:
    """PII-looking spans: email addresses, phone numbers, card numbers that pass the Luhn check."""
    hits: list[ScanHit] = []
    if b"@" in line:
        found = _EMAIL.search(line)
        if found:
            hits.append(ScanHit("email", found.start() + 1))
    if _NINE_DIGITS_HINT.search(line) is None:
        return hits
    card = phone = False
    for run in _DIGIT_RUN.finditer(line):
        text = run.group()
        digits = bytes(c for c in text if 48 <= c <= 57)
        if not card and 13 <= len(digits) <= 19 and luhn_valid(digits):
            card = True
            hits.append(ScanHit("card", run.start() + 1))
        elif not phone and _looks_like_phone(text, len(digits)):
            phone = True
            hits.append(ScanHit("phone", run.start() + 1))
    return hits


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
