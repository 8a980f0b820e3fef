"""A byte-level BPE tokenizer trained from the training data, with Phi-3's chat special tokens and template."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from devhost.local_foundry.chat_data import ChatExample
from devhost.local_foundry.chat_format import (
    ASSISTANT,
    END,
    ENDOFTEXT,
    PHI3_CHAT_TEMPLATE,
    SPECIAL_TOKENS,
    SYSTEM,
    USER,
)


def render(example: ChatExample) -> str:
    """The example as Phi-3 chat text (what the tokenizer is trained on)."""
    body = "".join(f"<|{message.role}|>\n{message.content}{END}\n" for message in example.messages)
    return body + ENDOFTEXT


def train_tokenizer(examples: Iterable[ChatExample], vocab_size: int) -> Any:
    """Train a byte-level BPE tokenizer on the examples; returns a `PreTrainedTokenizerFast`."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator((render(example) for example in examples), trainer=trainer)
    return PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tokenizer,
        bos_token=ENDOFTEXT,
        eos_token=ENDOFTEXT,
        pad_token=ENDOFTEXT,
        unk_token=ENDOFTEXT,
        additional_special_tokens=[SYSTEM, USER, ASSISTANT],
        chat_template=PHI3_CHAT_TEMPLATE,
        model_max_length=4096,
    )
