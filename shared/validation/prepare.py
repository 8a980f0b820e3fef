"""Preparing training and validation sets: a seeded split when no validation file is given, normalised output.

Output is UTF-8 without BOM, LF line endings, one compact JSON object per line. An example is one line, so
a split never separates the turns of a multi-turn conversation. The split is seeded (use the run id): the
same file and seed always give the same sets. Too few examples to split is a result (`refusal`), not an
exception: nothing is written then.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Iterable, Iterator
from typing import BinaryIO, Literal

import orjson
from pydantic import BaseModel, Field

from shared.errors import InvalidOptionsError
from shared.validation.lines import LineReader

_SPOOL_BYTES = 32 * 1024 * 1024
_NO_FILE_LIMIT = 1 << 62


class ChatMessage(BaseModel):
    """One message of a held-out example."""

    role: str
    content: str


class PreparedDatasets(BaseModel):
    """What `prepare_datasets` wrote, or why it refused to split."""

    ok: bool = Field(description="False when the split was refused (see refusal); nothing was written then.")
    refusal: str | None = Field(None, description="Why the split was refused, for a person to act on.")
    validation_source: Literal["file", "split"]
    train_examples: int = 0
    validation_examples: int = 0
    skipped_lines: int = Field(0, description="Lines that were not a JSON object (validation should catch them).")
    held_out: list[list[ChatMessage]] = Field(
        default_factory=list, description="The first few validation examples, e.g. for a smoke test."
    )


def prepare_datasets(  # noqa: PLR0917 - the positional order the pipeline's prepare activity was agreed with
    training: Iterable[bytes],
    validation: Iterable[bytes] | None,
    split: float,
    seed: str,
    train_out: BinaryIO,
    validation_out: BinaryIO,
    *,
    min_examples_to_split: int = 20,
    min_train_examples: int = 10,
    held_out_examples: int = 5,
    max_line_bytes: int = 4 * 1024 * 1024,
) -> PreparedDatasets:
    """Write normalised training and validation sets; split `training` (share `split`) when `validation` is None.

    The split is refused (a result with `ok` False, nothing written) below `min_examples_to_split` examples
    or when fewer than `min_train_examples` would be left to train on.

    Raises `InvalidOptionsError` when `split` is not strictly between 0 and 1.
    """
    if validation is not None:
        result = PreparedDatasets(ok=True, validation_source="file")
        for example in _normalised(training, max_line_bytes, result):
            train_out.write(example)
            result.train_examples += 1
        for example in _normalised(validation, max_line_bytes, result):
            validation_out.write(example)
            _hold_out(result, example, held_out_examples)
            result.validation_examples += 1
        return result
    if not 0 < split < 1:
        raise InvalidOptionsError(f"validation split {split!r} must be between 0 and 1 (e.g. 0.2)")
    return _split(
        training=training,
        split=split,
        seed=seed,
        train_out=train_out,
        validation_out=validation_out,
        min_examples=min_examples_to_split,
        min_train_examples=min_train_examples,
        held_out_examples=held_out_examples,
        max_line_bytes=max_line_bytes,
    )


def _split(
    *,
    training: Iterable[bytes],
    split: float,
    seed: str,
    train_out: BinaryIO,
    validation_out: BinaryIO,
    min_examples: int,
    min_train_examples: int,
    held_out_examples: int,
    max_line_bytes: int,
) -> PreparedDatasets:
    result = PreparedDatasets(ok=True, validation_source="split")
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as spool:
        total = 0
        for example in _normalised(training, max_line_bytes, result):
            spool.write(example)
            total += 1
        held = max(1, round(total * split))
        if total < max(min_examples, 2) or total - held < min_train_examples:
            result.ok = False
            result.refusal = (
                f"the file has {total} example(s): too few to hold {split:.0%} out for validation and keep "
                f"{min_train_examples} for training (at least {max(min_examples, 2)} are needed); add examples "
                "or upload a validation file"
            )
            return result
        # Reproducible by design: the run id seeds the split, so a retried activity writes the same sets.
        chosen = set(random.Random(seed).sample(range(total), held))  # noqa: S311
        spool.seek(0)
        for index, example in enumerate(spool):
            if index in chosen:
                validation_out.write(example)
                _hold_out(result, example, held_out_examples)
                result.validation_examples += 1
            else:
                train_out.write(example)
                result.train_examples += 1
    return result


def _normalised(chunks: Iterable[bytes], max_line_bytes: int, result: PreparedDatasets) -> Iterator[bytes]:
    """Each example as compact UTF-8 JSON + LF; lines that are not a JSON object are counted and skipped."""
    reader = LineReader(max_line_bytes, _NO_FILE_LIMIT)
    for _, line in reader.read(chunks):
        if line is not None and (not line or line.isspace()):
            continue
        try:
            example = orjson.loads(line) if line is not None else None
        except orjson.JSONDecodeError:
            example = None
        if not isinstance(example, dict):
            result.skipped_lines += 1
            continue
        yield orjson.dumps(example) + b"\n"


def _hold_out(result: PreparedDatasets, example: bytes, limit: int) -> None:
    if len(result.held_out) >= limit:
        return
    messages = orjson.loads(example).get("messages")
    if isinstance(messages, list):
        try:
            result.held_out.append([ChatMessage.model_validate(m) for m in messages])
        except ValueError:
            return
