"""Chat-format JSONL examples: reading them from a `file://` path or a blob URL, and parsing them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlparse

from pydantic import BaseModel, Field, ValidationError

from shared.errors import BlobNotFoundError, OrchestratorError
from shared.storage import AzureBlobStore

Role = Literal["system", "user", "assistant"]


class DatasetError(Exception):
    """A training or validation file cannot be read or is not chat-format JSONL."""


class ChatMessage(BaseModel):
    """One message of a conversation; `weight` 0 on an assistant message excludes it from the loss."""

    role: Role
    content: str
    weight: Literal[0, 1] = 1


class ChatExample(BaseModel):
    """One training example: a conversation ending with (at least one) assistant message."""

    messages: list[ChatMessage] = Field(min_length=1)

    def prompt_and_reply(self) -> tuple[list[ChatMessage], str]:
        """The messages before the last assistant message, and that message's content."""
        for index in range(len(self.messages) - 1, -1, -1):
            if self.messages[index].role == "assistant":
                return self.messages[:index], self.messages[index].content
        raise DatasetError("the example has no assistant message")


def parse_jsonl(text: str, source: str) -> list[ChatExample]:
    """Parse chat JSONL; a bad line raises `DatasetError` naming the file and line."""
    examples: list[ChatExample] = []
    for number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            example = ChatExample.model_validate(json.loads(line))
        except (json.JSONDecodeError, ValidationError) as error:
            reason = str(error).splitlines()[0]
            raise DatasetError(f"{source}, line {number}: not a chat example ({reason})") from None
        if not any(message.role == "assistant" for message in example.messages):
            raise DatasetError(f"{source}, line {number}: the conversation has no assistant message")
        examples.append(example)
    if not examples:
        raise DatasetError(f"{source}: no examples")
    return examples


def check_uri(uri: str) -> None:
    """Refuse a data URI the foundry cannot read, with the reason."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return
    if parsed.scheme in {"http", "https"} and parsed.hostname in {"127.0.0.1", "localhost"}:
        return
    raise DatasetError(f"data URI {uri!r}: the local foundry reads file:// paths and blob URLs on 127.0.0.1 only")


def read_text(uri: str, storage_connection_string: str | None) -> str:
    """The file's text: a `file://` path, or a blob URL read with the foundry's storage connection string."""
    check_uri(uri)
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        path = Path(unquote(parsed.path))
        try:
            return path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise DatasetError(f"data file not found: {path}") from None
        except (OSError, UnicodeDecodeError) as error:
            raise DatasetError(f"data file {path}: cannot be read as UTF-8 ({error})") from None
    return _read_blob(uri, storage_connection_string)


def _read_blob(url: str, connection_string: str | None) -> str:
    if not connection_string:
        raise DatasetError(f"data URI {url}: a blob URL needs the foundry's storage connection string (not set)")
    store = AzureBlobStore(connection_string=connection_string, retry_total=2)
    try:
        account_url = store.url("container", "blob").rsplit("/", 2)[0] + "/"
        path = url.split("?", 1)[0]
        if not path.startswith(account_url):
            raise DatasetError(f"data URI {url}: not a blob of the storage account the foundry is configured with")
        container, _, blob = unquote(path[len(account_url) :]).partition("/")
        if not container or not blob:
            raise DatasetError(f"data URI {url}: expected <account url>/<container>/<blob name>")
        try:
            data, _ = store.read_bytes(container, blob)
        except BlobNotFoundError:
            raise DatasetError(f"data blob not found: {container}/{blob}") from None
        except OrchestratorError as error:
            raise DatasetError(f"data blob {container}/{blob}: cannot be read ({error})") from None
    finally:
        store.close()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DatasetError(f"data blob {container}/{blob}: not UTF-8") from None


def load_examples(uri: str, storage_connection_string: str | None) -> list[ChatExample]:
    """Read and parse a chat JSONL file from its URI."""
    return parse_jsonl(read_text(uri, storage_connection_string), uri.split("?", 1)[0])
