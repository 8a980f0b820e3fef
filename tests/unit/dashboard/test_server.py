"""The dashboard's HTTP server: loopback only, security headers on every answer."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from devhost.cli import main
from devhost.dashboard.app import PAGE_CSP, DashboardApp
from devhost.dashboard.events import EventLog
from devhost.dashboard.reports import ReportReader
from devhost.dashboard.server import DashboardServer
from shared.errors import ConfigurationError
from shared.names import REPORTS_CONTAINER
from tests.fakes.storage import InMemoryBlobStore
from tests.unit.dashboard.helpers import RUN_ID, FakeRunsApi


def make_app() -> DashboardApp:
    return DashboardApp(FakeRunsApi(), ReportReader(InMemoryBlobStore(), REPORTS_CONTAINER), EventLog())


@pytest.fixture
def server() -> Iterator[DashboardServer]:
    running = DashboardServer(make_app(), port=0).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.mark.parametrize(
    "bind",
    [
        "0.0.0.0",  # noqa: S104 (a refused bind)
        "::",
        "10.1.2.3",
        "192.168.0.10",
        "example.com",
    ],
)
def test_non_loopback_binds_are_refused(bind: str) -> None:
    with pytest.raises(ConfigurationError, match=r"127\.0\.0\.1"):
        DashboardServer(make_app(), port=0, bind=bind)


def test_the_cli_refuses_a_non_loopback_bind_with_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dashboard", "--api", "http://127.0.0.1:9", "--bind", "0.0.0.0", "--port", "0"]) == 2  # noqa: S104
    error = capsys.readouterr().err
    assert error.startswith("error: refusing to bind 0.0.0.0")
    assert "Traceback" not in error


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--api", "127.0.0.1:7071"], "is not an http(s) URL"),
        (["--api", "http://127.0.0.1:9", "--port", "70000"], "--port must be 0-65535"),
        (["--api", "http://127.0.0.1:9", "--api-key-env", "NO_SUCH_VARIABLE_FOR_TESTS"], "is not set"),
    ],
)
def test_the_cli_explains_bad_arguments(arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dashboard", "--port", "0", *arguments]) in {1, 2}
    error = capsys.readouterr().err
    assert error.startswith("error: ")
    assert message in error


def test_the_cli_says_when_no_devhost_is_running(capsys: pytest.CaptureFixture[str], tmp_path: object) -> None:
    assert main(["dashboard", "--data-dir", str(tmp_path), "--port", "0"]) == 1
    assert "python -m devhost up" in capsys.readouterr().err


def test_pages_and_data_come_with_security_headers(server: DashboardServer) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    with httpx.Client(base_url=server.url, trust_env=False) as client:
        for path in ("/", f"/runs/{RUN_ID}", "/static/common.js", "/data/runs", f"/data/runs/{RUN_ID}"):
            reply = client.get(path)
            assert reply.status_code == 200, path
            assert reply.headers["content-security-policy"] == PAGE_CSP
            assert reply.headers["x-content-type-options"] == "nosniff"
            assert reply.headers["cache-control"] == "no-store"
        assert client.get("/data/runs").json()["runs"][0]["runId"] == RUN_ID
        assert client.head("/").content == b""
        assert client.post("/data/runs", content=b"{}").status_code == 405
        assert client.get("/data/runs", headers={"Host": "attacker.example"}).status_code == 403
