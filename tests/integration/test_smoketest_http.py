"""The smoke test over real HTTP against a tiny OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from pydantic import SecretStr

from shared.chat_client import ChatMessage, HttpxChatClient, RetryPolicy
from shared.smoketest import HeldOutExample, SmokePrompt, SmokeThresholds, build_probes, run_smoke_test

pytestmark = pytest.mark.integration

KEY = SecretStr("local-deployment-key-7f3a")
SLOW_SECONDS = 0.4


class ChatHandler(BaseHTTPRequestHandler):
    """Speaks `/v1/chat/completions` under `/<mode>/`: good, error, garbage, slow, flaky."""

    flaky_calls = 0

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_POST(self) -> None:
        mode, _, route = self.path.strip("/").partition("/")
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if route != "v1/chat/completions":
            return self._send(404, b'{"error": "not found"}')
        if self.headers.get("Authorization") != f"Bearer {KEY.get_secret_value()}":
            return self._send(401, b'{"error": "invalid key"}')
        question = body["messages"][-1]["content"]
        if mode == "error":
            return self._send(500, b'{"error": "model crashed"}')
        if mode == "garbage":
            return self._send(200, b"\x00\x01 not json")
        if mode == "flaky":
            type(self).flaky_calls += 1
            if type(self).flaky_calls % 2 == 1:
                return self._send(503, b"{}")
        if mode == "slow":
            time.sleep(SLOW_SECONDS)
        answer = {"Wi-Fi?": "Open the network settings on your Xbox."}.get(question, "Hello, I am an Xbox agent.")
        reply = {"choices": [{"index": 0, "message": {"role": "assistant", "content": answer}}]}
        return self._send(200, json.dumps(reply).encode())

    def _send(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), ChatHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def client() -> Iterator[HttpxChatClient]:
    with HttpxChatClient(
        timeout=httpx.Timeout(10.0, connect=5.0),
        retry=RetryPolicy(max_attempts=2, initial_backoff_seconds=0.0),
    ) as chat:
        yield chat


PROBES = build_probes(
    [SmokePrompt(prompt="Hello", expect_regex="(?i)xbox")],
    [HeldOutExample(messages=[ChatMessage(role="user", content="Wi-Fi?")], reference="Open the network settings.")],
    sample_size=1,
    seed="ft-smoke-it",
)
THRESHOLDS = SmokeThresholds(max_latency_ms=30_000, min_quality=0.5)


def test_a_good_endpoint_passes(server_url: str, client: HttpxChatClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    report = run_smoke_test(client, f"{server_url}/good", KEY, PROBES, THRESHOLDS)
    assert report.passed, report.failures
    assert [p.status_code for p in report.probes] == [200, 200]
    assert report.aggregate_score is not None
    assert report.aggregate_score > 0.5
    assert KEY.get_secret_value() not in caplog.text
    assert KEY.get_secret_value() not in report.model_dump_json()


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("error", "HTTP 500"), ("garbage", "malformed chat completion"), ("good/wrong-prefix", "HTTP 404")],
)
def test_a_broken_endpoint_fails_with_the_reason(
    server_url: str, client: HttpxChatClient, mode: str, reason: str
) -> None:
    report = run_smoke_test(client, f"{server_url}/{mode}", KEY, PROBES, THRESHOLDS)
    assert not report.passed
    assert all(any(reason in f for f in p.failures) for p in report.probes), report.probes


def test_a_refused_key_fails_without_showing_it(server_url: str, client: HttpxChatClient) -> None:
    wrong = SecretStr("not-the-key")
    report = run_smoke_test(client, f"{server_url}/good", wrong, PROBES, THRESHOLDS)
    assert not report.passed
    assert report.probes[0].status_code == 401
    assert "refused the key" in report.probes[0].failures[0]
    assert "not-the-key" not in report.model_dump_json()


def test_a_flaky_endpoint_passes_after_a_retry(server_url: str, client: HttpxChatClient) -> None:
    report = run_smoke_test(client, f"{server_url}/flaky", KEY, PROBES, THRESHOLDS)
    assert report.passed, report.failures
    assert all(p.attempts == 2 for p in report.probes)


def test_a_slow_endpoint_fails_the_latency_check(server_url: str, client: HttpxChatClient) -> None:
    strict = THRESHOLDS.model_copy(update={"max_latency_ms": SLOW_SECONDS * 1000 / 2})
    report = run_smoke_test(client, f"{server_url}/slow", KEY, PROBES[:1], strict)
    assert not report.passed
    assert "latency" in report.probes[0].failures[0]


def test_an_endpoint_slower_than_the_timeout_is_reported_as_timed_out(server_url: str) -> None:
    with HttpxChatClient(
        timeout=httpx.Timeout(SLOW_SECONDS / 4, connect=5.0), retry=RetryPolicy(max_attempts=1)
    ) as impatient:
        report = run_smoke_test(impatient, f"{server_url}/slow", KEY, PROBES[:1], THRESHOLDS)
    assert not report.passed
    assert report.probes[0].failures == ["timed out (ReadTimeout)"]
