"""The token counters: the exact Phi-3 tokenizer.json adapter and the offline estimator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers

from shared.errors import ConfigurationError
from shared.settings import Settings
from shared.validation import (
    ChatMessage,
    EstimatingTokenCounter,
    Phi3TokenizerCounter,
    TokenCounter,
    ValidationConfig,
    default_token_counter,
    validate_path,
)
from shared.validation.tokens import TEMPLATE_TOKENS_PER_EXAMPLE, TEMPLATE_TOKENS_PER_MESSAGE

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "xbox-support.jsonl"
SPECIALS = ["<s>", "<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]


def conversations() -> list[list[ChatMessage]]:
    return [
        [ChatMessage.model_validate(m) for m in json.loads(line)["messages"]]
        for line in SAMPLE.read_text(encoding="utf-8").splitlines()
    ]


@pytest.fixture(scope="module")
def tokenizer_json(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small byte-level BPE tokenizer with Phi-3's chat tokens, trained on the sample set."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    texts = [m.content for c in conversations() for m in c]
    tokenizer.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=600, special_tokens=SPECIALS))
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", tokenizer.token_to_id("<s>"))]
    )
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    tokenizer.save(str(path))
    return path


def test_exact_counter_counts_the_rendered_phi3_chat_template(tokenizer_json: Path) -> None:
    counter = Phi3TokenizerCounter(str(tokenizer_json))
    tokenizer = Tokenizer.from_file(str(tokenizer_json))
    conversation = conversations()[-1]
    ((total, assistant),) = counter.count_conversations([conversation])
    rendered = "".join(f"<|{m.role}|>\n{m.content}<|end|>\n" for m in conversation) + "<|endoftext|>"
    assert total == len(tokenizer.encode(rendered).ids)
    assert tokenizer.encode(rendered).tokens[0] == "<s>"
    replies = [m.content for m in conversation if m.role == "assistant"]
    assert assistant == sum(
        len(tokenizer.encode(f"<|assistant|>\n{reply}<|end|>\n", add_special_tokens=False).ids) for reply in replies
    )
    assert counter.exact


def test_a_configured_tokenizer_makes_the_report_exact(tokenizer_json: Path) -> None:
    settings = Settings(phi3_tokenizer_path=str(tokenizer_json))
    report = validate_path(SAMPLE, ValidationConfig.from_settings(settings))
    assert report.valid
    assert report.token_count_exact
    assert report.cost.token_count_exact
    assert report.tokenizer.startswith("exact")
    assert isinstance(default_token_counter(str(tokenizer_json)), Phi3TokenizerCounter)


def test_an_unreadable_tokenizer_file_is_a_configuration_error(tmp_path: Path) -> None:
    bad = tmp_path / "tokenizer.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="PHI3_TOKENIZER_PATH"):
        Phi3TokenizerCounter(str(bad))


def test_estimator_is_the_default_and_labelled_an_estimate() -> None:
    counter = default_token_counter(None)
    assert isinstance(counter, EstimatingTokenCounter)
    assert isinstance(counter, TokenCounter)
    assert not counter.exact
    assert "estimate" in counter.description


def test_word_cached_estimate_matches_encoding_each_message_whole() -> None:
    counter = EstimatingTokenCounter()
    texts = [m.content for c in conversations() for m in c]
    by_word = sum(counter.count_text(t) for t in texts)
    whole = sum(counter.count_text_directly(t) for t in texts)
    assert abs(by_word - whole) / whole < 0.01


def test_estimate_adds_the_chat_template_tokens_per_message_and_example() -> None:
    counter = EstimatingTokenCounter()
    conversation = conversations()[0]
    ((total, assistant),) = counter.count_conversations([conversation])
    content = [counter.count_text(m.content) for m in conversation]
    assert total == sum(content) + TEMPLATE_TOKENS_PER_MESSAGE * len(conversation) + TEMPLATE_TOKENS_PER_EXAMPLE
    assert assistant == content[-1] + TEMPLATE_TOKENS_PER_MESSAGE


def test_estimator_survives_endless_distinct_words() -> None:
    counter = EstimatingTokenCounter(cache_words=10)
    text = " ".join(f"w{i}x" for i in range(1000))
    assert counter.count_text(text) == counter.count_text(text) > 1000


def test_words_with_digits_count_like_their_zeroed_shape_which_is_what_cl100k_does() -> None:
    counter = EstimatingTokenCounter()
    for word in ["#123456", "0x1f2e3d4c", "2024-05-01", "v1.2.3", "ERR-8007000E", "42", "3.14159"]:
        assert counter.count_text(word) == counter.count_text_directly(" " + word), word
