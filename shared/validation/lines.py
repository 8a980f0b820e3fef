"""Splitting a stream of byte chunks into numbered lines, with bounded memory."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

UTF8_BOM = b"\xef\xbb\xbf"


class LineReader:
    """Yields `(line_number, line)` from chunks; `line` is None for a line over `max_line_bytes`.

    Memory stays within one chunk plus `max_line_bytes`: an over-long line is skipped, not gathered. Reading
    stops once more than `max_file_bytes` arrived (`over_file_limit` is then True). A UTF-8 BOM at the start
    is dropped (the first chunk must hold at least 3 bytes); a CR before LF is left to the JSON parser, which
    treats it as whitespace.
    """

    def __init__(self, max_line_bytes: int, max_file_bytes: int) -> None:
        self._max_line = max_line_bytes
        self._max_file = max_file_bytes
        self._pending: list[bytes] = []
        self._pending_len = 0
        self._skipping = False
        self.bytes_read = 0
        self.lines = 0
        self.over_file_limit = False

    def read(self, chunks: Iterable[bytes]) -> Iterator[tuple[int, bytes | None]]:
        """The lines of the chunks, numbered from 1."""
        for first, lines in self.batches(chunks):
            yield from enumerate(lines, first)

    def batches(self, chunks: Iterable[bytes]) -> Iterator[tuple[int, list[bytes | None]]]:
        """The lines completed by each chunk, as (number of the first, lines)."""
        first = True
        for chunk in chunks:
            if not chunk:
                continue
            self.bytes_read += len(chunk)
            if self.bytes_read > self._max_file:
                self.over_file_limit = True
                return
            data = chunk[len(UTF8_BOM) :] if first and chunk.startswith(UTF8_BOM) else chunk
            first = False
            number = self.lines + 1
            lines = self._split(data)
            if lines:
                self.lines += len(lines)
                yield number, lines
        if self._pending:
            self.lines += 1
            yield self.lines, [b"".join(self._pending)]

    def _split(self, data: bytes) -> list[bytes | None]:
        newline = data.find(b"\n")
        if self._skipping:
            if newline < 0:
                return []
            self._skipping = False
            data = data[newline + 1 :]
            newline = data.find(b"\n")
        if newline < 0:
            self._keep(data)
            return [None] if self._skipping else []
        head = data[:newline]
        if self._pending:
            head = b"".join([*self._pending, head])
            self._pending, self._pending_len = [], 0
        parts = [head, *data[newline + 1 :].split(b"\n")]
        self._keep(parts.pop())
        max_line = self._max_line
        lines: list[bytes | None]
        if max(map(len, parts)) > max_line:
            lines = [part if len(part) <= max_line else None for part in parts]
        else:
            lines = list(parts)
        if self._skipping:
            lines.append(None)
        return lines

    def _keep(self, partial: bytes) -> None:
        """Hold the start of an unfinished line, or start skipping it once it is over the limit."""
        if not partial:
            return
        self._pending.append(partial)
        self._pending_len += len(partial)
        if self._pending_len > self._max_line:
            self._pending, self._pending_len, self._skipping = [], 0, True
