"""The run commands the dashboard offers (approve, reject, cancel, retry) and the checks on a request for one.

A command changes a run, so only the dashboard's own pages may send one: the request must come from the
dashboard's origin (`Origin` equal to the loopback `Host` it was sent to) with a JSON body, which a page on
another site can neither forge (a cross-origin JSON POST needs a CORS preflight this server never grants)
nor hide behind a plain form.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import orjson

from shared.commands import COMMAND_NAMES
from shared.runs import RUN_ID_PATTERN

MAX_REASON_CHARS = 500
MAX_BODY_BYTES = 16 * 1024


class CommandRequestError(Exception):
    """A command request the dashboard refuses; `status` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def available_commands(*, ended: bool, stage: str | None) -> list[str]:
    """The commands a run accepts in its present state, in the order the page offers them."""
    if ended:
        return ["retry"]
    if stage == "awaiting_approval":
        return ["approve", "reject", "cancel"]
    return ["cancel"]


def command_request(
    run_id: str, command: str, *, origin: str | None, host: str | None, content_type: str | None, body: bytes | None
) -> str | None:
    """Check a request for `command` on `run_id`; returns its reason, or raises `CommandRequestError`."""
    if not RUN_ID_PATTERN.match(run_id):
        raise CommandRequestError(400, "not a run id (ft-<name>-<12 hex>)")
    if command not in COMMAND_NAMES:
        raise CommandRequestError(404, f"unknown command {command!r}; commands: {', '.join(COMMAND_NAMES)}")
    check_origin(origin, host)
    return command_reason(content_type, body)


def check_origin(origin: str | None, host: str | None) -> None:
    """Refuse a request that does not come from a page of this dashboard."""
    if not origin or not host or origin == "null":
        raise CommandRequestError(403, "commands are accepted only from the dashboard's own pages (no Origin)")
    parts = urlsplit(origin)
    if parts.scheme != "http" or parts.netloc.lower() != host.strip().lower():
        raise CommandRequestError(403, f"commands are accepted only from the dashboard's own pages, not {origin!r}")


def command_reason(content_type: str | None, body: bytes | None) -> str | None:
    """The optional `reason` of a command request's JSON body (`{"reason": "..."}` or `{}`).

    `body` is None when it was larger than `MAX_BODY_BYTES` and so never read.
    """
    if (content_type or "").split(";", 1)[0].strip().lower() != "application/json":
        raise CommandRequestError(415, "a command is sent as JSON (Content-Type: application/json)")
    if body is None or len(body) > MAX_BODY_BYTES:
        raise CommandRequestError(413, f"a command body is at most {MAX_BODY_BYTES} bytes")
    try:
        payload: Any = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError as error:
        raise CommandRequestError(400, f"the command body is not JSON: {error}") from None
    if not isinstance(payload, dict) or set(payload) - {"reason"}:
        raise CommandRequestError(400, 'the command body is {"reason": "..."} (reason optional)')
    reason = payload.get("reason")
    if reason is None or reason == "":
        return None
    if not isinstance(reason, str) or len(reason) > MAX_REASON_CHARS:
        raise CommandRequestError(400, f"reason must be text of at most {MAX_REASON_CHARS} characters")
    return reason
