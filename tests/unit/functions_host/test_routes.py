from __future__ import annotations

import pytest

from devhost.functions_host.routes import RouteTable, RouteTemplate
from shared.errors import ConfigurationError


def table() -> RouteTable[str]:
    return RouteTable(
        [
            ("runs", ["GET", "POST"], "list"),
            ("runs/{runId}", ["GET"], "get"),
            ("runs/active", ["GET"], "active"),
            ("runs/{runId}/{command}", ["POST"], "command"),
            ("items/{id:int}", ["GET"], "item"),
            ("files/{*path}", ["GET"], "files"),
            ("docs/{page?}", ["GET"], "docs"),
        ]
    )


@pytest.mark.parametrize(
    ("method", "path", "target", "params"),
    [
        ("GET", "/runs", "list", {}),
        ("POST", "/runs/", "list", {}),
        ("GET", "/runs/ft-a-123", "get", {"runId": "ft-a-123"}),
        ("GET", "/RUNS/ft-a-123", "get", {"runId": "ft-a-123"}),
        ("POST", "/runs/ft-a-123/cancel", "command", {"runId": "ft-a-123", "command": "cancel"}),
        ("GET", "/runs/active", "active", {}),
        ("GET", "/runs/a%20b", "get", {"runId": "a b"}),
        ("GET", "/items/42", "item", {"id": "42"}),
        ("GET", "/files/a/b/c.txt", "files", {"path": "a/b/c.txt"}),
        ("GET", "/docs", "docs", {}),
        ("GET", "/docs/intro", "docs", {"page": "intro"}),
    ],
)
def test_request_is_routed_to_the_most_specific_template(
    method: str, path: str, target: str, params: dict[str, str]
) -> None:
    match = table().match(method, path)
    assert match.target == target
    assert match.route_params == params


@pytest.mark.parametrize("path", ["/nothing", "/runs/a/b/c", "/items/abc", "/", "/runs/a/cancel/x"])
def test_unknown_path_matches_nothing_and_is_not_a_method_problem(path: str) -> None:
    match = table().match("GET", path)
    assert match.target is None
    assert not match.method_not_allowed


def test_known_path_with_another_method_reports_the_allowed_methods() -> None:
    match = table().match("DELETE", "/runs/x")
    assert match.target is None
    assert match.method_not_allowed
    assert match.allowed_methods == ("GET",)
    assert table().match("GET", "/runs/x/cancel").allowed_methods == ("POST",)


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("runs/{a}/{a}", "used twice"),
        ("runs/{a?}/more", "only the last segment"),
        ("runs/{a:weird}", "unknown constraint"),
        ("runs/x{a}", "not a literal"),
        ("runs//x", "empty segment"),
    ],
)
def test_malformed_template_is_refused_with_its_name(template: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem) as info:
        RouteTemplate.parse(template)
    assert template.strip("/") in str(info.value) or template in str(info.value)


def test_the_cli_default_http_port_is_the_functions_host_default() -> None:
    from devhost.commands import up  # noqa: PLC0415
    from devhost.functions_host import DEFAULT_HTTP_PORT  # noqa: PLC0415

    assert up.DEFAULT_HTTP_PORT == DEFAULT_HTTP_PORT
