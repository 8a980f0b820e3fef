"""The fine-tune itself: LoRA on a Phi-3-architecture model, loss on assistant tokens only.

Runs inside the job's process (`devhost.local_foundry.train_job`); reports progress through `JobFiles`.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from devhost.local_foundry.chat_data import ChatExample, load_examples
from devhost.local_foundry.chat_format import END
from devhost.local_foundry.job_files import STORAGE_ENV, JobFiles, TrainingProgress, TrainingSpec
from devhost.local_foundry.model import load_pretrained, save_tiny_base, with_lora
from devhost.local_foundry.tokenizer import train_tokenizer
from shared.foundry.port import LossPoint

IGNORE = -100
MAX_CURVE_POINTS = 400
PROGRESS_EVERY_SECONDS = 0.5
# A tiny model gains nothing from more threads, and on a busy machine extra threads oversubscribe the
# cores: one thread trained 4x faster than two on this 2-core machine under load.
TORCH_THREADS = 1
MAX_GRAD_NORM = 1.0


class InjectedFaultError(Exception):
    """A failure the foundry's fault settings asked for."""


@dataclass
class Encoded:
    """One tokenised example: ids and labels (IGNORE outside assistant replies)."""

    input_ids: list[int]
    labels: list[int]


def encode(example: ChatExample, tokenizer: Any, max_len: int) -> Encoded:
    """Tokenise with the tokenizer's chat template; only assistant contents (and their `<|end|>`) are labels."""
    messages = [{"role": m.role, "content": m.content} for m in example.messages]
    text: str = tokenizer.apply_chat_template(messages, tokenize=False)
    spans: list[tuple[int, int]] = []
    cursor = 0
    for message in example.messages:
        start = text.find(message.content, cursor)
        if start < 0:
            continue
        end = start + len(message.content)
        cursor = end
        if message.role == "assistant" and message.weight == 1:
            spans.append((start, end + len(END) if text.startswith(END, end) else end))
    batch = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids: list[int] = batch["input_ids"][:max_len]
    offsets: list[tuple[int, int]] = batch["offset_mapping"][:max_len]
    labels = [
        token if any(s <= start and stop <= e and stop > start for s, e in spans) else IGNORE
        for token, (start, stop) in zip(ids, offsets, strict=True)
    ]
    return Encoded(ids, labels)


def _batches(items: Sequence[Encoded], size: int, pad_id: int) -> list[dict[str, Any]]:
    batches = []
    for first in range(0, len(items), size):
        chunk = items[first : first + size]
        width = max(len(item.input_ids) for item in chunk)
        ids = [item.input_ids + [pad_id] * (width - len(item.input_ids)) for item in chunk]
        labels = [item.labels + [IGNORE] * (width - len(item.labels)) for item in chunk]
        mask = [[1] * len(item.input_ids) + [0] * (width - len(item.input_ids)) for item in chunk]
        batches.append(
            {"input_ids": torch.tensor(ids), "labels": torch.tensor(labels), "attention_mask": torch.tensor(mask)}
        )
    return batches


def _label_count(batch: dict[str, Any]) -> int:
    # The model shifts labels by one: the first position never counts.
    return int((batch["labels"][:, 1:] != IGNORE).sum())


def mean_loss(model: Any, batches: Sequence[dict[str, Any]]) -> float:
    """Token-weighted mean loss over the batches, without gradients."""
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for batch in batches:
            tokens = _label_count(batch)
            if tokens:
                total += float(model(**batch).loss) * tokens
                count += tokens
    model.train()
    return total / count if count else float("nan")


def prepare_base(spec: TrainingSpec, files: JobFiles, train: Sequence[ChatExample]) -> tuple[Any, Any]:
    """Load the base model: real weights from `base_model_path`, else a tiny seeded model saved first.

    Both go through the same `from_pretrained` loading, so the tiny default exercises the real path.
    """
    if spec.base_model_path:
        return load_pretrained(Path(spec.base_model_path))
    tokenizer = train_tokenizer(train, spec.vocab_size)
    save_tiny_base(tokenizer, files.base, spec.seed, spec.tiny_model)
    return load_pretrained(files.base)


class _Trainer:
    """The optimisation loop: one instance per job."""

    def __init__(self, spec: TrainingSpec, model: Any, train: list[Encoded], validation: list[Encoded], pad_id: int):
        self.spec, self.model, self.train, self.pad_id = spec, model, train, pad_id
        self.validation = _batches(validation, spec.batch_size, pad_id)
        self.steps_per_epoch = math.ceil(len(train) / spec.batch_size)
        self.record_every = max(1, math.ceil(self.steps_per_epoch * spec.epochs / MAX_CURVE_POINTS))
        self.trainable = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.trainable, lr=spec.learning_rate)
        self.generator = torch.Generator().manual_seed(spec.seed)
        total = self.steps_per_epoch * spec.epochs
        # Linear decay to zero, as the Hugging Face trainer does by default.
        self.schedule = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda step: max(0.0, 1 - step / total))

    def run(self, report: Callable[[TrainingProgress], None]) -> TrainingProgress:
        before = mean_loss(self.model, self.validation)
        progress = TrainingProgress(
            phase="training",
            total_steps=self.steps_per_epoch * self.spec.epochs,
            validation_loss=before,
            validation_loss_before=before,
            curve=[LossPoint(step=0, epoch=0.0, validation_loss=before)],
        )
        report(progress)
        self.model.train()
        for epoch in range(self.spec.epochs):
            if self.spec.fail_after_epoch is not None and epoch >= self.spec.fail_after_epoch:
                raise InjectedFaultError(f"injected fault: training failed in epoch {epoch + 1} (fault settings)")
            self._epoch(epoch, progress, report)
        return progress

    def _epoch(self, epoch: int, progress: TrainingProgress, report: Callable[[TrainingProgress], None]) -> None:
        order = torch.randperm(len(self.train), generator=self.generator).tolist()
        total, tokens = 0.0, 0
        last_report = time.monotonic()
        for batch in _batches([self.train[i] for i in order], self.spec.batch_size, self.pad_id):
            loss = self.model(**batch).loss
            self.optimizer.zero_grad()
            loss.backward()
            # As the Hugging Face trainer does: without it, a small file trained at a high rate (5e-3) can diverge.
            torch.nn.utils.clip_grad_norm_(self.trainable, MAX_GRAD_NORM)
            self.optimizer.step()
            self.schedule.step()
            count = _label_count(batch)
            total, tokens = total + loss.item() * count, tokens + count
            progress.step += 1
            progress.epoch = round(progress.step / self.steps_per_epoch, 4)
            progress.train_loss = loss.item()
            if progress.step % self.record_every == 0:
                progress.curve.append(
                    LossPoint(step=progress.step, epoch=progress.epoch, train_loss=progress.train_loss)
                )
            if time.monotonic() - last_report >= PROGRESS_EVERY_SECONDS:
                report(progress)
                last_report = time.monotonic()
        progress.validation_loss = mean_loss(self.model, self.validation)
        progress.train_loss = total / tokens if tokens else None
        progress.curve.append(
            LossPoint(
                step=progress.step,
                epoch=float(epoch + 1),
                train_loss=progress.train_loss,
                validation_loss=progress.validation_loss,
            )
        )
        report(progress)


def run_training(spec: TrainingSpec, files: JobFiles, report: Callable[[TrainingProgress], None]) -> None:
    """Fine-tune per `spec`, save adapter and merged checkpoints under `files.output`."""
    torch.set_num_threads(TORCH_THREADS)
    report(TrainingProgress(phase="loading data"))
    storage = os.environ.get(STORAGE_ENV)
    train = load_examples(spec.training_data_uri, storage)
    validation = load_examples(spec.validation_data_uri, storage)

    torch.manual_seed(spec.seed)
    model, tokenizer = prepare_base(spec, files, train)
    model = with_lora(model, spec.lora)
    trainer = _Trainer(
        spec,
        model,
        [encode(example, tokenizer, spec.max_seq_len) for example in train],
        [encode(example, tokenizer, spec.max_seq_len) for example in validation],
        tokenizer.pad_token_id,
    )
    progress = trainer.run(report)

    progress.phase = "saving"
    report(progress)
    model.save_pretrained(files.adapter)
    tokenizer.save_pretrained(files.adapter)
    merged = model.merge_and_unload()
    merged.save_pretrained(files.merged)
    tokenizer.save_pretrained(files.merged)
    progress.phase = "done"
    report(progress)
