"""Recognising files that are not text at all from their first bytes: compressed, binary, UTF-16."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from shared.validation.codes import ErrorCode

_COMPRESSED: Final = (
    (b"\x1f\x8b", "gzip"),
    (b"PK\x03\x04", "zip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip"),
)


@dataclass(frozen=True)
class HeadProblem:
    """Why the file cannot be read as JSONL at all."""

    code: ErrorCode
    message: str


def sniff_head(head: bytes) -> HeadProblem | None:
    """A problem visible in the first bytes, or None when they may be JSONL text."""
    for magic, kind in _COMPRESSED:
        if head.startswith(magic):
            return HeadProblem(
                ErrorCode.COMPRESSED_FILE,
                f"the file is {kind}-compressed; upload the uncompressed .jsonl file",
            )
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return HeadProblem(ErrorCode.NOT_UTF8, "the file is UTF-16 (it starts with a UTF-16 BOM); save it as UTF-8")
    if b"\x00" in head[:8192]:
        return HeadProblem(
            ErrorCode.BINARY_DATA,
            "the file contains NUL bytes: it is binary data (or UTF-16 without a BOM), not UTF-8 JSONL",
        )
    return None
