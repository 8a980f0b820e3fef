"""The command contract: `{"command": ..., "runId": ..., "reason": ...}`."""

from __future__ import annotations

import orjson
import pytest

from shared.commands import Command, CommandName, parse_command
from shared.errors import InvalidCommandError


def test_a_valid_command_parses() -> None:
    command = parse_command(b'{"command": "reject", "runId": "ft-a-0123", "reason": "bad outputs"}')

    assert command == Command(command=CommandName.REJECT, runId="ft-a-0123", reason="bad outputs")
    assert parse_command(command.to_json()) == command


def test_reason_is_optional_and_text_bodies_work() -> None:
    assert parse_command('{"command": "cancel", "runId": "ft-a"}').reason is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[]", "must be a JSON object, got list"),
        (
            b'{"command": "explode", "runId": "ft-a"}',
            "command: Input should be 'cancel', 'approve', 'reject' or 'retry'",
        ),
        (b'{"command": "cancel"}', "runId: Field required"),
        (b'{"command": "cancel", "runId": ""}', "runId: String should have at least 1 character"),
        (b'{"command": "cancel", "runId": "a/b"}', "runId: String should match pattern"),
        (b'{"command": "cancel", "runId": "ft-a", "force": true}', "force: Extra inputs are not permitted"),
        (b'{"command": "cancel", "runId": "ft-a", "reason": 5}', "reason: Input should be a valid string"),
    ],
)
def test_malformed_commands_say_what_and_where(body: bytes, message: str) -> None:
    with pytest.raises(InvalidCommandError) as raised:
        parse_command(body)
    assert message in str(raised.value)


def test_a_run_id_of_dots_only_is_refused() -> None:
    for run_id in (".", "..", "..."):
        with pytest.raises(InvalidCommandError, match="dots only"):
            parse_command(orjson.dumps({"command": "cancel", "runId": run_id}))
