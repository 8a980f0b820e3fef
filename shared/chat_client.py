"""The `ChatEndpointClient` port and its httpx adapter for OpenAI-compatible chat endpoints.

One protocol serves both homes: an Azure AI Foundry serverless endpoint answers
`POST <scoring_uri>/v1/chat/completions`, and the devhost's local foundry answers
`POST <base>/v1/chat/completions`. The key travels as `Authorization: Bearer` (what serverless
endpoints check) and as `api-key` (what Azure OpenAI-style gateways check); it never appears in a
log line, an exception or a result.

The client never raises for what the endpoint answers: an HTTP error, garbage or a time-out is a
`ChatResponse` with an `error`, because the smoke test reports it as a failed probe. Retries are
declared by `RetryPolicy` (429 and 5xx, honouring `Retry-After` up to a cap); connection failures
are also retried by the httpx transport itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Final, Literal, Protocol

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

logger = logging.getLogger(__name__)

CHAT_COMPLETIONS_PATH: Final = "/v1/chat/completions"
_MAX_REPLY_CHARS: Final = 8000


class ChatMessage(BaseModel):
    """One message of an OpenAI-style chat."""

    model_config = ConfigDict(frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str


class ChatResponse(BaseModel):
    """What one chat completion call produced; `error` says why it is unusable (None when it is fine)."""

    status_code: int | None = Field(None, description="HTTP status of the last attempt; None if no answer came.")
    content: str | None = Field(None, description="The assistant's reply, when the response was well formed.")
    latency_ms: float | None = Field(None, description="Duration of the last attempt, in milliseconds.")
    attempts: int = Field(1, ge=1, description="HTTP attempts made (retries included).")
    error: str | None = Field(None, description="Why the call failed, in words; never contains the key.")


class RetryPolicy(BaseModel):
    """Which answers are retried, how often, and how long to wait between attempts."""

    model_config = ConfigDict(frozen=True)

    max_attempts: int = Field(3, ge=1, le=10)
    initial_backoff_seconds: float = Field(0.5, ge=0)
    max_backoff_seconds: float = Field(8.0, ge=0)
    retry_statuses: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})

    def backoff(self, attempt: int, retry_after: str | None) -> float:
        """Seconds to wait before attempt `attempt + 1`: `Retry-After` when given, else exponential; capped."""
        if retry_after is not None:
            try:
                return min(max(float(retry_after), 0.0), self.max_backoff_seconds)
            except ValueError:
                pass
        exponential: float = self.initial_backoff_seconds * 2.0 ** (attempt - 1)
        return min(exponential, self.max_backoff_seconds)


class ChatEndpointClient(Protocol):
    """Calls an OpenAI-compatible chat completions endpoint."""

    def complete(
        self,
        scoring_uri: str,
        key: SecretStr,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
    ) -> ChatResponse:
        """One chat completion (with the client's retries); never raises for what the endpoint answers."""
        ...


def chat_completions_url(scoring_uri: str) -> str:
    """The chat completions URL of an endpoint, whether given as its base, its `/v1` or its full path."""
    base = scoring_uri.strip().rstrip("/")
    if base.endswith("/chat/completions"):
        return base
    if base.endswith("/v1"):
        return f"{base}/chat/completions"
    return f"{base}{CHAT_COMPLETIONS_PATH}"


class _Message(BaseModel):
    content: str | None = None


class _Choice(BaseModel):
    message: _Message


class _Completion(BaseModel):
    choices: list[_Choice] = Field(min_length=1)


def parse_completion(body: bytes) -> str:
    """The first choice's message content of a chat completion body; `ValueError` when malformed."""
    try:
        completion = _Completion.model_validate_json(body)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in error.errors()[:3])
        raise ValueError(f"malformed chat completion ({problems})") from None
    content = completion.choices[0].message.content
    if content is None:
        raise ValueError("malformed chat completion (choices.0.message.content is null)")
    return content


def redact(text: str, key: SecretStr) -> str:
    """`text` with every occurrence of the key replaced, for text that came from outside."""
    secret = key.get_secret_value()
    return text.replace(secret, "***") if secret else text


def _describe_status(status: int) -> str:
    if status in {401, 403}:
        return f"HTTP {status}: the endpoint refused the key"
    if status == 404:
        return "HTTP 404: no chat completions route at this URL"
    return f"HTTP {status}"


class HttpxChatClient:
    """`ChatEndpointClient` over httpx with bounded time-outs, transport retries and a declared retry policy."""

    def __init__(
        self,
        *,
        timeout: httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        connect_retries: int = 2,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._client = httpx.Client(
            timeout=timeout or httpx.Timeout(60.0, connect=10.0),
            transport=transport or httpx.HTTPTransport(retries=connect_retries),
            follow_redirects=False,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> HttpxChatClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def complete(
        self,
        scoring_uri: str,
        key: SecretStr,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
    ) -> ChatResponse:
        """One chat completion, retried per the policy; see `ChatEndpointClient.complete`."""
        url = chat_completions_url(scoring_uri)
        body: dict[str, Any] = {
            "messages": [message.model_dump() for message in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        secret = key.get_secret_value()
        headers = {"Authorization": f"Bearer {secret}", "api-key": secret, "Accept": "application/json"}
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            response = self._send(url, body, headers)
            latency_ms = (time.perf_counter() - started) * 1000.0
            if isinstance(response, str):
                if attempt < self._retry.max_attempts:
                    self._sleep(self._retry.backoff(attempt, None))
                    continue
                return ChatResponse(attempts=attempt, error=redact(response, key))
            if response.status_code in self._retry.retry_statuses and attempt < self._retry.max_attempts:
                logger.info("chat endpoint answered %s; retrying (attempt %d)", response.status_code, attempt)
                self._sleep(self._retry.backoff(attempt, response.headers.get("retry-after")))
                continue
            return self._result(response, latency_ms, attempt, key)

    def _send(self, url: str, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response | str:
        """The response, or why none came (a time-out or a connection failure) in words."""
        try:
            return self._client.post(url, json=body, headers=headers)
        except httpx.TimeoutException as error:
            return f"timed out ({type(error).__name__})"
        except httpx.TransportError as error:
            return f"could not reach the endpoint ({type(error).__name__})"

    @staticmethod
    def _result(response: httpx.Response, latency_ms: float, attempts: int, key: SecretStr) -> ChatResponse:
        status = response.status_code
        if status != 200:
            return ChatResponse(
                status_code=status, latency_ms=latency_ms, attempts=attempts, error=_describe_status(status)
            )
        try:
            content = parse_completion(response.content)
        except ValueError as error:
            return ChatResponse(
                status_code=status, latency_ms=latency_ms, attempts=attempts, error=redact(str(error), key)
            )
        return ChatResponse(
            status_code=status,
            content=redact(content[:_MAX_REPLY_CHARS], key),
            latency_ms=latency_ms,
            attempts=attempts,
        )
