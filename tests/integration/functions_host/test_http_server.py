from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from devhost.functions_host import FunctionsHost, FunctionsHttpServer, check_loopback
from devhost.functions_host.http_server import free_port
from shared.errors import ConfigurationError
from tests.fakes import sample_functions_app
from tests.unit.functions_host.test_bindings import ENV, MANAGEMENT, client_binding

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    functions = FunctionsHost(sample_functions_app.build_app(), client_binding, environ=ENV)
    server = FunctionsHttpServer(functions, port=0)
    server.start()
    yield server.url
    server.stop()
    functions.close()


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        yield http


def test_health_answers_json(client: httpx.Client) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"status": "ok"}


def test_route_parameters_url_and_headers_reach_the_function(client: httpx.Client, base_url: str) -> None:
    response = client.get("/api/runs/ft-a-0123456789ab", headers={"User-Agent": "tester/1"})
    assert response.json() == {
        "runId": "ft-a-0123456789ab",
        "url": f"{base_url}/api/runs/ft-a-0123456789ab",
        "agent": "tester/1",
    }


def test_query_parameters_body_and_function_headers(client: httpx.Client) -> None:
    response = client.post("/api/runs?state=running&family=xbox", content=b'{"blob": "a.jsonl"}')
    assert response.status_code == 200
    assert response.headers["x-fn"] == "list_runs"
    assert response.json() == {
        "method": "POST",
        "params": {"state": "running", "family": "xbox"},
        "body": '{"blob": "a.jsonl"}',
    }


def test_literal_route_wins_over_a_parameter_and_str_results_are_text(client: httpx.Client) -> None:
    response = client.get("/api/runs/active")
    assert response.text == "active"
    assert response.headers["content-type"].startswith("text/plain")


def test_async_function_with_a_durable_client_gets_the_engine_urls(client: httpx.Client) -> None:
    response = client.post("/api/runs/ft-a-0123456789ab/cancel")
    assert response.status_code == 202
    assert response.json() == {
        "command": "cancel",
        "statusQueryGetUri": f"{MANAGEMENT}/instances/ft-a-0123456789ab",
    }


def test_unknown_route_is_404_json(client: httpx.Client) -> None:
    for path in ("/api/nothing", "/elsewhere", "/api/items/not-a-number"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "no function serves" in response.json()["error"]


def test_wrong_method_is_405_with_allow(client: httpx.Client) -> None:
    response = client.delete("/api/runs/ft-a-0123456789ab")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    response = client.get("/api/runs/x/cancel")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


def test_failing_function_is_500_without_details_and_logged_with_traceback(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="devhost.functions_host"):
        response = client.get("/api/boom")
    assert response.status_code == 500
    body = response.json()
    assert body["error"] == "function boom failed"
    assert sample_functions_app.FAKE_SECRET not in response.text
    assert "Traceback" not in response.text
    (record,) = [r for r in caplog.records if body["invocationId"] in r.getMessage()]
    assert record.exc_info is not None


@pytest.mark.parametrize("path", ["/api/barrier", "/api/async-barrier"])
def test_requests_are_served_concurrently(base_url: str, path: str) -> None:
    def call() -> str:
        with httpx.Client(base_url=base_url, timeout=60) as http:
            return http.get(path).text

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: call(), range(2)))
    assert results == ["met", "met"]


def test_head_has_no_body(client: httpx.Client) -> None:
    response = client.head("/api/health")
    assert response.status_code == 405
    assert response.content == b""


@pytest.mark.parametrize("address", ["0.0.0.0", "192.168.1.10", "::", "example.com"])  # noqa: S104 (refusal under test)
def test_non_loopback_bind_is_refused(address: str) -> None:
    with pytest.raises(ConfigurationError, match=r"127\.0\.0\.1"):
        check_loopback(address)
    with pytest.raises(ConfigurationError):
        FunctionsHttpServer(FunctionsHost(sample_functions_app.build_app(), environ=ENV), bind=address)


def test_loopback_binds_are_accepted() -> None:
    assert check_loopback("127.0.0.1") == "127.0.0.1"
    assert check_loopback("localhost") == "127.0.0.1"
    assert check_loopback("::1") == "::1"


def test_port_in_use_is_a_clear_error(base_url: str) -> None:
    port = int(base_url.rsplit(":", 1)[1])
    server = FunctionsHttpServer(FunctionsHost(sample_functions_app.build_app(), environ=ENV), port=port)
    with pytest.raises(ConfigurationError, match=re.escape(f"127.0.0.1:{port}")):
        server.start()


def test_ipv6_loopback_serves() -> None:
    functions = FunctionsHost(sample_functions_app.build_app(), environ=ENV)
    server = FunctionsHttpServer(functions, port=0, bind="::1")
    server.start()
    try:
        assert server.url.startswith("http://[::1]:")
        assert httpx.get(f"{server.url}/api/health", timeout=30).json() == {"status": "ok"}
    finally:
        server.stop()
        functions.close()


def test_chunked_request_bodies_are_read_whole(client: httpx.Client) -> None:
    def parts() -> Iterator[bytes]:
        yield b'{"blob": '
        yield b'"a.jsonl"}'

    response = client.post("/api/runs", content=parts())
    assert response.json()["body"] == '{"blob": "a.jsonl"}'


def test_oversized_body_is_413_and_never_reaches_the_function() -> None:
    functions = FunctionsHost(sample_functions_app.build_app(), environ=ENV)
    server = FunctionsHttpServer(functions, port=0, max_body_bytes=1000)
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            assert http.post("/api/runs", content=b"x" * 1001).status_code == 413
            assert http.post("/api/runs", content=(b"x" * 600 for _ in range(2))).status_code == 413
            assert http.post("/api/runs", content=b"x" * 1000).status_code == 200
    finally:
        server.stop()


def test_durable_webhooks_are_forwarded_and_a_missing_engine_is_502() -> None:
    functions = FunctionsHost(sample_functions_app.build_app(), environ=ENV)
    engine_down = f"http://127.0.0.1:{free_port()}/runtime/webhooks/durabletask/"
    server = FunctionsHttpServer(functions, port=0, management_url=engine_down)
    server.start()
    try:
        response = httpx.get(f"{server.url}/runtime/webhooks/durabletask/instances/x", timeout=30)
        assert response.status_code == 502
        assert "durable engine did not answer" in response.json()["error"]
        assert httpx.get(f"{server.url}/api/health", timeout=30).status_code == 200
    finally:
        server.stop()
