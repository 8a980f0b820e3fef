"""The HTTP trigger binding: a `func.HttpRequest` in, a `func.HttpResponse` (or str/bytes) out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import azure.functions as func
from pydantic import BaseModel, ConfigDict, Field


class HttpReply(BaseModel):
    """What goes back on the wire for one HTTP invocation."""

    model_config = ConfigDict(frozen=True)

    status_code: int
    headers: list[tuple[str, str]] = Field(default_factory=list)
    body: bytes = b""


def build_request(
    method: str, url: str, *, headers: Mapping[str, str], query: str, route_params: Mapping[str, str], body: bytes
) -> func.HttpRequest:
    """The request object the worker would pass (query string parsed; a repeated key keeps its first value)."""
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        params.setdefault(key, value)
    return func.HttpRequest(
        method=method.upper(),
        url=url,
        headers=dict(headers),
        params=params,
        route_params=dict(route_params),
        body=body,
    )


def reply_from_result(result: Any) -> HttpReply:
    """Map what an HTTP function returned to the wire; an unsupported return type raises TypeError."""
    if isinstance(result, func.HttpResponse):
        headers = [(k, v) for k, v in result.headers.items() if k.lower() != "content-length"]
        if result.mimetype and not any(k.lower() == "content-type" for k, _ in headers):
            content_type = result.mimetype
            if result.charset and (content_type.startswith("text/") or content_type == "application/json"):
                content_type = f"{content_type}; charset={result.charset}"
            headers.append(("Content-Type", content_type))
        return HttpReply(status_code=result.status_code, headers=headers, body=result.get_body() or b"")
    if isinstance(result, str):
        return HttpReply(status_code=200, headers=[("Content-Type", "text/plain; charset=utf-8")], body=result.encode())
    if isinstance(result, bytes | bytearray):
        return HttpReply(status_code=200, headers=[("Content-Type", "application/octet-stream")], body=bytes(result))
    if result is None:
        return HttpReply(status_code=204)
    raise TypeError(f"an HTTP function returned {type(result).__name__}, not func.HttpResponse, str or bytes")
