"""The base model (a seeded tiny Phi-3 or real weights from disk), loaded one way, and its LoRA wrapping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer, Phi3Config, Phi3ForCausalLM
from transformers.utils import logging

from devhost.local_foundry.job_files import LoraShape, TinyModelShape

# Phi-3's attention and MLP projections (fused qkv and gate/up, as in the released checkpoints).
LORA_TARGET_MODULES = ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"]


def save_tiny_base(tokenizer: Any, directory: Path, seed: int, shape: TinyModelShape) -> None:
    """Initialise a tiny Phi-3 model from `seed` and save it with its tokenizer as a loadable checkpoint."""
    logging.disable_progress_bar()  # type: ignore[no-untyped-call]

    config = Phi3Config(
        vocab_size=len(tokenizer),
        hidden_size=shape.hidden_size,
        intermediate_size=shape.intermediate_size,
        num_hidden_layers=shape.num_hidden_layers,
        num_attention_heads=shape.num_attention_heads,
        num_key_value_heads=shape.num_attention_heads,
        max_position_embeddings=shape.max_position_embeddings,
        original_max_position_embeddings=shape.max_position_embeddings,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = Phi3ForCausalLM(config)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)


def load_pretrained(directory: Path) -> tuple[Any, Any]:
    """Load a checkpoint (model and tokenizer) from disk; never downloads."""
    logging.disable_progress_bar()  # type: ignore[no-untyped-call]

    tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(directory, local_files_only=True, dtype="float32")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def with_lora(model: Any, shape: LoraShape) -> Any:
    """Wrap the model with LoRA on attention and MLP; the output layer is trained in full.

    LoRA alone barely moves a randomly initialised model (its output layer maps to noise), so
    `lm_head` is trained as a whole (`modules_to_save`).
    """
    config = LoraConfig(
        r=shape.rank,
        lora_alpha=shape.alpha,
        lora_dropout=shape.dropout,
        target_modules=LORA_TARGET_MODULES,
        modules_to_save=["lm_head"],
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)
