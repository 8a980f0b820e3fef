"""The streaming validator: one pass over the lines, bounded memory, a `ValidationReport` at the end."""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import Final

import msgspec

from shared.validation.codes import ErrorCode, WarningCode
from shared.validation.config import ValidationConfig
from shared.validation.detailed import DetailedCheck
from shared.validation.findings import FindingCollector
from shared.validation.lines import LineReader
from shared.validation.report import DatasetStats, Finding, ValidationReport
from shared.validation.scan import BlockScan, scan_block
from shared.validation.schema import Message, decode_example
from shared.validation.sniff import sniff_head
from shared.validation.stats import distribution, estimate_cost
from shared.validation.tokens import TokenCounter, default_token_counter

CHUNK_BYTES: Final = 1024 * 1024
_BATCH: Final = 512
_PII_CODES: Final = {
    "email": (WarningCode.PII_EMAIL, "an email address"),
    "phone": (WarningCode.PII_PHONE, "a phone number"),
    "card": (WarningCode.PII_CARD_NUMBER, "a payment card number (passes the Luhn check)"),
}


def validate_path(
    path: str | Path, config: ValidationConfig, token_counter: TokenCounter | None = None
) -> ValidationReport:
    """Validate a local JSONL file, streaming it in 1 MiB chunks."""
    file = Path(path)
    size = file.stat().st_size
    validation = _Validation(config, token_counter)
    if size > config.max_file_bytes:
        return validation.refuse_size(size)
    with file.open("rb") as stream:
        return validation.run(iter(partial(stream.read, CHUNK_BYTES), b""))


def validate_chunks(
    chunks: Iterable[bytes], config: ValidationConfig, token_counter: TokenCounter | None = None
) -> ValidationReport:
    """Validate a JSONL stream given as byte chunks of any size (a blob download, a file, a test's bytes)."""
    return _Validation(config, token_counter).run(chunks)


class _Validation:
    """The state of one validation pass."""

    def __init__(self, config: ValidationConfig, token_counter: TokenCounter | None) -> None:
        self.config = config
        self.counter = token_counter or default_token_counter(config.tokenizer_path)
        self.errors = FindingCollector(config.max_findings_per_code)
        self.detailed = DetailedCheck(self.errors)
        self.warnings = FindingCollector(config.max_findings_per_code)
        self.secret_findings = self.errors if config.secrets_are_errors else self.warnings
        self.secret_code = ErrorCode.SECRET_DETECTED if config.secrets_are_errors else WarningCode.SECRET_DETECTED
        self._short_words = config.short_reply_words
        self.examples = 0
        self.valid_examples = 0
        self.first_lines: dict[int, int] = {}
        self.system_prompt: str | None = None
        self.pending: list[tuple[int, list[Message], bool]] = []
        self.secret_lines: set[int] = set()
        self.message_counts: array[int] = array("I")
        self.token_counts: array[int] = array("I")
        self.assistant_counts: array[int] = array("I")
        self.total_tokens = 0
        self.bytes_read = 0
        self.lines = 0
        self.stopped_early = False

    def refuse_size(self, size: int) -> ValidationReport:
        """The report for a file known to be over the size limit before reading it."""
        self.bytes_read = 0
        self.stopped_early = True
        self.errors.add(ErrorCode.FILE_TOO_LARGE, None, self._size_message(size))
        return self.report()

    def _size_message(self, size: int | None) -> str:
        limit = self.config.max_file_bytes
        got = f"{size:,} bytes" if size is not None else f"more than {limit:,} bytes"
        return f"the file has {got}; the limit is {limit:,} bytes (MAX_FILE_BYTES); split it or trim it"

    def run(self, chunks: Iterable[bytes]) -> ValidationReport:
        """Read every line, check it, and build the report."""
        head, rest = _take_head(iter(chunks))
        problem = sniff_head(head)
        if problem is not None:
            self.bytes_read = len(head)
            self.stopped_early = True
            self.errors.add(problem.code, None, problem.message)
            return self.report()
        reader = LineReader(self.config.max_line_bytes, self.config.max_file_bytes)
        check = self._check_line
        for first, lines in reader.batches(itertools.chain((head,), rest)):
            scanned = scan_block(lines)
            self._report_scan(first, scanned)
            self.secret_lines = (
                {first + index for index in scanned.secrets} if self.config.secrets_are_errors else set()
            )
            for number, line in enumerate(lines, first):
                if line is None:
                    self.examples += 1
                    self.errors.add(
                        ErrorCode.LINE_TOO_LONG,
                        number,
                        f"the line is longer than {self.config.max_line_bytes:,} bytes (MAX_LINE_BYTES); "
                        "it was skipped",
                    )
                elif line and not line.isspace():
                    self.examples += 1
                    check(number, line)
        self._flush()
        self.bytes_read, self.lines = reader.bytes_read, reader.lines
        if reader.over_file_limit:
            self.stopped_early = True
            self.errors.add(ErrorCode.FILE_TOO_LARGE, None, self._size_message(None))
        elif self.examples == 0:
            self.errors.add(ErrorCode.EMPTY_FILE, None, "the file has no examples (it is empty or blank)")
        elif self.examples < self.config.min_examples:
            self.errors.add(
                ErrorCode.TOO_FEW_EXAMPLES,
                None,
                f"the file has {self.examples} example(s); at least {self.config.min_examples} are needed",
            )
        return self.report()

    def _report_scan(self, first: int, scanned: BlockScan) -> None:
        for index, hits in sorted(scanned.secrets.items()):
            for hit in hits:
                self.secret_findings.add(
                    self.secret_code,
                    first + index,
                    f"column {hit.column}: looks like {hit.kind}; remove it and rotate the credential",
                )
        for index, hits in sorted(scanned.pii.items()):
            for hit in hits:
                code, what = _PII_CODES[hit.kind]
                self.warnings.add(
                    code, first + index, f"column {hit.column}: looks like {what}; remove or mask personal data"
                )

    def _check_line(self, number: int, line: bytes) -> None:
        try:
            messages = decode_example(line).messages
        except (msgspec.MsgspecError, ValueError, RecursionError):  # msgspec: UnicodeDecodeError on bad UTF-8
            messages = None
        if messages is None or not self._check_example(number, line, messages):
            # Off the fast path: find and report every problem, then check the example again if it has none.
            messages = self._check_slowly(number, line)
            if messages is None or not self._check_example(number, line, messages):
                return
        self.pending.append((number, messages, number in self.secret_lines))
        if len(self.pending) >= _BATCH:
            self._flush()

    def _check_slowly(self, number: int, line: bytes) -> list[Message] | None:
        """Parse and check a line that failed the fast path, reporting each problem; None when invalid."""
        return self.detailed.messages(number, line)

    def _check_example(self, number: int, line: bytes, messages: list[Message]) -> bool:
        """Warnings of a decoded example; False (and nothing reported) when it breaks a rule of its own.

        The rules the schema cannot express: an assistant message exists, only assistant messages have a
        weight, no content is blank. One pass over the messages, since this runs for every line.
        """
        has_assistant = False
        system = None
        short_replies: list[int] = []
        short = self._short_words
        short_chars = 16 * short
        for index, message in enumerate(messages, 1):
            content = message.content
            if message.role == "assistant":
                has_assistant = True
                if len(content) < short_chars and message.weight != 0 and len(content.split()) < short:
                    short_replies.append(index)
            elif message.weight is not msgspec.UNSET:
                return False
            elif system is None and message.role == "system":
                system = content
            if content.isspace():
                return False
        if not has_assistant:
            return False
        self._warn_example(number, line, system, messages[-1].role, short_replies)
        return True

    def _warn_example(self, number: int, line: bytes, system: str | None, last: str, short_replies: list[int]) -> None:
        warn = self.warnings.add
        first = self.first_lines.setdefault(hash(line), number)
        if first != number:
            warn(WarningCode.DUPLICATE_EXAMPLE, number, f"the same example as line {first}")
        if system is None:
            warn(WarningCode.MISSING_SYSTEM_MESSAGE, number, "no system message; Phi-3 learns best with one")
        elif self.system_prompt is None:
            self.system_prompt = system
        elif system != self.system_prompt:
            warn(
                WarningCode.DIFFERING_SYSTEM_MESSAGES,
                number,
                "the system message differs from the first one; use the one you will deploy with",
            )
        if last != "assistant":
            warn(
                WarningCode.LAST_MESSAGE_NOT_ASSISTANT,
                number,
                f"the conversation ends with a {last} message; end it with the assistant's reply",
            )
        for reply in short_replies:
            warn(
                WarningCode.SHORT_ASSISTANT_REPLY,
                number,
                f"message {reply}: the assistant reply has fewer than {self._short_words} words",
            )

    def _flush(self) -> None:
        if not self.pending:
            return
        limit = self.config.context_length
        near = int(limit * self.config.near_limit_ratio)
        counts = self.counter.count_conversations([messages for _, messages, _ in self.pending])
        for (number, messages, has_secret), (total, assistant) in zip(self.pending, counts, strict=True):
            self.message_counts.append(len(messages))
            self.token_counts.append(total)
            self.assistant_counts.append(assistant)
            self.total_tokens += total
            if total > limit:
                self.errors.add(
                    ErrorCode.TOO_MANY_TOKENS,
                    number,
                    f"{total:,} tokens; {self.config.base_model} takes at most {limit:,}: shorten or split it",
                )
                continue
            if total > near:
                self.warnings.add(
                    WarningCode.NEAR_TOKEN_LIMIT,
                    number,
                    f"{total:,} tokens, close to the {limit:,}-token limit of {self.config.base_model}",
                )
            if not has_secret:
                self.valid_examples += 1
        self.pending.clear()

    def report(self) -> ValidationReport:
        """The report of what was read so far."""
        billable = self.total_tokens * self.config.epochs
        exact = self.counter.exact
        stats = DatasetStats(
            bytes_read=self.bytes_read,
            lines=self.lines,
            examples=self.examples,
            valid_examples=self.valid_examples,
            messages_per_example=distribution(self.message_counts),
            tokens_per_example=distribution(self.token_counts),
            assistant_tokens_per_example=distribution(self.assistant_counts),
            total_tokens=self.total_tokens,
            billable_tokens=billable,
            epochs=self.config.epochs,
        )
        return ValidationReport(
            valid=not self.errors,
            base_model=self.config.base_model,
            context_length=self.config.context_length,
            errors=_in_line_order(self.errors.listed),
            warnings=_in_line_order(self.warnings.listed),
            error_counts=self.errors.counts,
            warning_counts=self.warnings.counts,
            stats=stats,
            cost=estimate_cost(billable, self.config, exact=exact),
            token_count_exact=exact,
            tokenizer=self.counter.description,
            stopped_early=self.stopped_early,
        )


def _in_line_order(findings: list[Finding]) -> list[Finding]:
    """File-level findings first, then by line (stable, so a line's findings keep their order)."""
    return sorted(findings, key=lambda finding: -1 if finding.line is None else finding.line)


def _take_head(chunks: Iterator[bytes]) -> tuple[bytes, Iterator[bytes]]:
    """The first 8 KiB or more (joined from as many chunks as needed), and the remaining chunks."""
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        parts.append(chunk)
        size += len(chunk)
        if size >= 8192:
            break
    return b"".join(parts), chunks
