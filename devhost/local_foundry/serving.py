"""OpenAI-compatible chat completions from registered models, loaded lazily and freed on delete."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from devhost.local_foundry.chat_format import END


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
        """Free the deployment's model."""
        with self._lock:
            self._loaded.pop(deployment, None)

    def _load(self, deployment: str, checkpoint: Path) -> _Loaded:
        with self._lock:
            found = self._loaded.get(deployment)
            if found:
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
        limit = min(request.max_tokens or self._max_tokens, self._max_tokens)
        messages = [message.model_dump() for message in request.messages]
        with loaded.lock, torch.no_grad():
            prompt = loaded.tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
            )
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
