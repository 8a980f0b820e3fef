"""OpenAI-compatible chat completions from registered models, loaded lazily and freed on delete."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from devhost.local_foundry.chat_format import END
from devhost.local_foundry.errors import FoundryError

log = logging.getLogger(__name__)


class ChatMessageIn(BaseModel):
    """A message of a chat completion request."""

    role: Literal["system", "user", "assistant"]
    content: str


class ChatCompletionRequest(BaseModel):
    """The subset of OpenAI's chat completion request the foundry honours (decoding is always greedy)."""

    model_config = ConfigDict(extra="ignore")

    messages: list[ChatMessageIn] = Field(min_length=1)
    max_tokens: int | None = Field(None, ge=1)
    model: str | None = None


class ChatMessageOut(BaseModel):
    """The assistant's reply."""

    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    """One completion."""

    index: int = 0
    message: ChatMessageOut
    finish_reason: Literal["stop", "length"]


class Usage(BaseModel):
    """Token counts."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    """OpenAI's chat completion response."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage


@dataclass
class _Loaded:
    model: Any
    tokenizer: Any
    stop_ids: list[int]
    lock: threading.Lock


class ModelServer:
    """Loads each deployment's merged checkpoint on first use and generates greedily."""

    def __init__(self, max_tokens: int) -> None:
        self._max_tokens = max_tokens
        self._loaded: dict[str, _Loaded] = {}
        self._lock = threading.Lock()
        self._warming = threading.Event()
        self._preloading: set[str] = set()

    def warm_up(self) -> None:
        """Import torch and transformers in the background, so the first completion waits less."""
        if not self._warming.is_set():
            self._warming.set()
            threading.Thread(target=_import_model_code, name="local-foundry-warm-up", daemon=True).start()

    def loaded(self) -> list[str]:
        """Deployments whose model is in memory."""
        with self._lock:
            return sorted(self._loaded)

    def unload(self, deployment: str) -> None:
        """Free the deployment's model (or forget a load still to come)."""
        with self._lock:
            self._preloading.discard(deployment)
            self._loaded.pop(deployment, None)

    def preload(self, deployment: str, checkpoint: Path) -> None:
        """Load the model in the background once its deployment serves, so the first caller does not wait."""
        with self._lock:
            if deployment in self._loaded or deployment in self._preloading:
                return
            self._preloading.add(deployment)
        threading.Thread(target=self._preload, args=(deployment, checkpoint), daemon=True).start()

    def _preload(self, deployment: str, checkpoint: Path) -> None:
        try:
            self._load(deployment, checkpoint, only_if_wanted=True)
        except Exception as error:  # the first request will load it again and report the failure
            log.warning("local foundry: preloading %s failed: %s", deployment, error)
        finally:
            with self._lock:
                self._preloading.discard(deployment)

    def _load(self, deployment: str, checkpoint: Path, only_if_wanted: bool = False) -> _Loaded | None:
        with self._lock:
            found = self._loaded.get(deployment)
            if found or (only_if_wanted and deployment not in self._preloading):
                return found
            torch_module, load_pretrained = _import_model_code()
            torch_module.set_num_threads(1)  # tiny models: more threads only oversubscribe a busy machine
            model, tokenizer = load_pretrained(checkpoint)
            model.eval()
            stop_ids = [tokenizer.eos_token_id]
            end_id = tokenizer.convert_tokens_to_ids(END)
            if isinstance(end_id, int) and end_id != tokenizer.unk_token_id:
                stop_ids.append(end_id)
            found = _Loaded(model, tokenizer, stop_ids, threading.Lock())
            self._loaded[deployment] = found
            return found

    def complete(self, deployment: str, checkpoint: Path, request: ChatCompletionRequest) -> ChatCompletion:
        """Apply the chat template, decode greedily up to `max_tokens`, and answer in OpenAI's shape."""
        import torch  # noqa: PLC0415 (torch loads on first use, not when the foundry starts)

        loaded = self._load(deployment, checkpoint)
        assert loaded is not None
        limit = min(request.max_tokens or self._max_tokens, self._max_tokens)
        messages = [message.model_dump() for message in request.messages]
        with loaded.lock, torch.no_grad():
            prompt = loaded.tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
            )
            context = int(getattr(loaded.model.config, "max_position_embeddings", 0) or 0)
            length = int(prompt["input_ids"].shape[1])
            if context and length >= context:
                raise FoundryError(f"the prompt has {length} tokens; the model's context is {context} tokens")
            if context:
                limit = min(limit, context - length)
            output = loaded.model.generate(
                **prompt,
                max_new_tokens=limit,
                do_sample=False,
                eos_token_id=loaded.stop_ids,
                pad_token_id=loaded.tokenizer.pad_token_id,
            )
        prompt_length = int(prompt["input_ids"].shape[1])
        new_ids = output[0][prompt_length:].tolist()
        stopped = bool(new_ids) and new_ids[-1] in loaded.stop_ids
        text = loaded.tokenizer.decode(new_ids, skip_special_tokens=True).strip()
        return ChatCompletion(
            id=f"chatcmpl-{uuid.uuid4().hex}",
            created=int(time.time()),
            model=deployment,
            choices=[Choice(message=ChatMessageOut(content=text), finish_reason="stop" if stopped else "length")],
            usage=Usage(
                prompt_tokens=prompt_length, completion_tokens=len(new_ids), total_tokens=prompt_length + len(new_ids)
            ),
        )


def _import_model_code() -> tuple[Any, Any]:
    import torch  # noqa: PLC0415 (torch loads on first use, not when the foundry starts)

    from devhost.local_foundry.model import load_pretrained  # noqa: PLC0415 (same)

    return torch, load_pretrained
