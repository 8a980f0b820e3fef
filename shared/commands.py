"""The command contract: `{"command": "cancel|approve|reject|retry", "runId": "...", "reason": "..."}`.

Commands arrive on queue `finetune-commands` or through `POST /api/runs/{runId}/{command}`; both are
validated here, so a malformed command is refused with the same message either way.
"""

from __future__ import annotations

from enum import StrEnum

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.errors import InvalidCommandError

MAX_REASON_LENGTH = 1000


class CommandName(StrEnum):
    """What a command asks of a run."""

    CANCEL = "cancel"
    APPROVE = "approve"
    REJECT = "reject"
    RETRY = "retry"


COMMAND_NAMES: tuple[str, ...] = tuple(name.value for name in CommandName)


class Command(BaseModel):
    """A command to a run; unknown keys are refused so that typos do not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    command: CommandName
    run_id: str = Field(alias="runId", min_length=1, max_length=128, pattern=r"^[^/\\?#\x00-\x1f]+$")
    reason: str | None = Field(None, max_length=MAX_REASON_LENGTH)

    @field_validator("run_id")
    @classmethod
    def _not_a_dot_segment(cls, value: str) -> str:
        # "." and ".." would become path segments of the Durable management URLs, which servers normalise away.
        if set(value) == {"."}:
            raise ValueError("a run id cannot be made of dots only")
        return value

    def to_json(self) -> bytes:
        """The wire form, with the contract's key names."""
        return orjson.dumps(self.model_dump(mode="json", by_alias=True, exclude_none=True))


def parse_command(body: bytes | str) -> Command:
    """Validate a command body; raises `InvalidCommandError` saying what is wrong and where."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise InvalidCommandError(f"command is not valid JSON: {error}") from None
    if not isinstance(payload, dict):
        raise InvalidCommandError(f"command must be a JSON object, got {type(payload).__name__}")
    try:
        return Command.model_validate(payload)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(body)'}: {e['msg']}" for e in error.errors(include_url=False)
        )
        raise InvalidCommandError(f"invalid command: {problems}") from None
