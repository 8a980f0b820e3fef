from __future__ import annotations

import json
import logging

import httpx
import pytest
from pydantic import SecretStr

from shared.chat_client import ChatMessage, HttpxChatClient, RetryPolicy, chat_completions_url, parse_completion

KEY = SecretStr("sk-test-0123456789abcdef")
MESSAGES = [ChatMessage(role="user", content="My Xbox will not turn on.")]


def completion(content: str | None) -> dict[str, object]:
    return {
        "id": "c1",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
    }


def client_for(handler: httpx.MockTransport, sleeps: list[float], attempts: int = 3) -> HttpxChatClient:
    return HttpxChatClient(transport=handler, retry=RetryPolicy(max_attempts=attempts), sleep=sleeps.append)


@pytest.mark.parametrize(
    ("scoring_uri", "url"),
    [
        (
            "https://phi3-ft.eastus2.models.ai.azure.com",
            "https://phi3-ft.eastus2.models.ai.azure.com/v1/chat/completions",
        ),
        (
            "https://phi3-ft.eastus2.models.ai.azure.com/",
            "https://phi3-ft.eastus2.models.ai.azure.com/v1/chat/completions",
        ),
        ("http://127.0.0.1:7081/deployments/d1/v1", "http://127.0.0.1:7081/deployments/d1/v1/chat/completions"),
        ("http://127.0.0.1:7081/v1/chat/completions", "http://127.0.0.1:7081/v1/chat/completions"),
    ],
)
def test_chat_completions_url_accepts_base_v1_or_full_path(scoring_uri: str, url: str) -> None:
    assert chat_completions_url(scoring_uri) == url


def test_request_carries_the_key_in_both_auth_headers_and_the_openai_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=completion("Hold the power button for 10 seconds."))

    with client_for(httpx.MockTransport(handler), []) as client:
        response = client.complete("https://ep.example", KEY, MESSAGES, max_tokens=64, temperature=0.0)
    assert response.error is None
    assert response.content == "Hold the power button for 10 seconds."
    assert response.status_code == 200
    request = seen[0]
    assert request.method == "POST"
    assert str(request.url) == "https://ep.example/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY.get_secret_value()}"
    assert request.headers["api-key"] == KEY.get_secret_value()
    body = json.loads(request.content)
    assert body == {
        "messages": [{"role": "user", "content": "My Xbox will not turn on."}],
        "max_tokens": 64,
        "temperature": 0.0,
    }


def test_throttling_is_retried_after_the_retry_after_delay() -> None:
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "2"}),
            httpx.Response(503),
            httpx.Response(200, json=completion("ok")),
        ]
    )
    sleeps: list[float] = []
    with client_for(httpx.MockTransport(lambda _: next(answers)), sleeps) as client:
        response = client.complete("https://ep.example", KEY, MESSAGES, max_tokens=8, temperature=0.0)
    assert response.content == "ok"
    assert response.attempts == 3
    assert sleeps == [2.0, 1.0]  # Retry-After honoured, then the exponential schedule (0.5 * 2**1)


def test_server_errors_are_retried_until_the_budget_is_spent() -> None:
    calls: list[int] = []

    def handler(_: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(500, text="boom")

    with client_for(httpx.MockTransport(handler), [], attempts=3) as client:
        response = client.complete("https://ep.example", KEY, MESSAGES, max_tokens=8, temperature=0.0)
    assert len(calls) == 3
    assert response.status_code == 500
    assert response.error == "HTTP 500"


def test_a_refused_key_is_not_retried_and_says_so() -> None:
    calls: list[int] = []

    def handler(_: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(401, json={"error": "bad key"})

    with client_for(httpx.MockTransport(handler), []) as client:
        response = client.complete("https://ep.example", KEY, MESSAGES, max_tokens=8, temperature=0.0)
    assert calls == [1]
    assert response.error is not None
    assert "refused the key" in response.error


def test_time_outs_are_retried_then_reported() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("read timed out", request=request)

    sleeps: list[float] = []
    with client_for(httpx.MockTransport(handler), sleeps, attempts=2) as client:
        response = client.complete("https://ep.example", KEY, MESSAGES, max_tokens=8, temperature=0.0)
    assert response.status_code is None
    assert response.attempts == 2
    assert response.error == "timed out (ReadTimeout)"
    assert sleeps == [0.5]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"<html>gateway</html>", "malformed chat completion"),
        (b'{"choices": []}', "choices"),
        (b'{"choices": [{"message": {"content": null}}]}', "content is null"),
        (b'{"result": "hi"}', "choices"),
    ],
)
def test_malformed_bodies_are_reported_not_raised(body: bytes, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_completion(body)
    with client_for(httpx.MockTransport(lambda _: httpx.Response(200, content=body)), []) as client:
        response = client.complete("https://ep.example", KEY, MESSAGES, max_tokens=8, temperature=0.0)
    assert response.content is None
    assert response.error is not None
    assert problem in response.error


def test_the_key_never_reaches_the_response_or_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    secret = KEY.get_secret_value()
    answers = iter([httpx.Response(429), httpx.Response(200, json=completion(f"your key is {secret}"))])
    caplog.set_level(logging.DEBUG)
    with client_for(httpx.MockTransport(lambda _: next(answers)), []) as client:
        response = client.complete("https://ep.example", KEY, MESSAGES, max_tokens=8, temperature=0.0)
    assert secret not in response.model_dump_json()
    assert response.content == "your key is ***"
    assert secret not in caplog.text
