"""The files through which the foundry and a training job's process talk: spec in, progress and error out."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel

from shared.foundry.port import LossPoint

STORAGE_ENV = "LOCAL_FOUNDRY_STORAGE_CONNECTION_STRING"


class TinyModelShape(BaseModel):
    """The size of the randomly initialised Phi-3-architecture model used when no weights are given."""

    hidden_size: int = 128
    intermediate_size: int = 256
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    max_position_embeddings: int = 2048


class LoraShape(BaseModel):
    """LoRA hyperparameters."""

    rank: int = 16
    alpha: int = 32
    dropout: float = 0.0


class TrainingSpec(BaseModel):
    """What one training process does (written by the foundry as `spec.json` in the job's folder)."""

    job_name: str
    training_data_uri: str
    validation_data_uri: str
    epochs: int
    learning_rate: float
    batch_size: int
    seed: int = 0
    base_model_path: str | None = None
    tiny_model: TinyModelShape = TinyModelShape()
    lora: LoraShape = LoraShape()
    vocab_size: int = 512
    max_seq_len: int = 1024
    fail_after_epoch: int | None = None


class TrainingProgress(BaseModel):
    """What a training process reports while it runs (`progress.json`)."""

    phase: str = "starting"
    step: int = 0
    total_steps: int = 0
    epoch: float = 0.0
    train_loss: float | None = None
    validation_loss: float | None = None
    validation_loss_before: float | None = None
    curve: list[LossPoint] = []


class JobFiles:
    """Paths of one job's folder."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.spec = directory / "spec.json"
        self.progress = directory / "progress.json"
        self.error = directory / "error.txt"
        self.log = directory / "job.log"
        self.output = directory / "output"
        self.adapter = self.output / "adapter"
        self.merged = self.output / "merged"
        self.base = directory / "base"

    def read_progress(self) -> TrainingProgress | None:
        """The last progress the process wrote, if any."""
        try:
            return TrainingProgress.model_validate_json(self.progress.read_bytes())
        except (FileNotFoundError, ValueError):
            return None

    def write_progress(self, progress: TrainingProgress) -> None:
        """Replace `progress.json` atomically, so a reader never sees half a file."""
        write_atomic(self.progress, progress.model_dump_json())

    def read_error(self) -> str | None:
        """The error the process reported before exiting, if any."""
        try:
            return self.error.read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None


def write_atomic(path: Path, text: str) -> None:
    """Write a file through a temporary one and a rename."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
