"""NCRONTAB schedules of timer triggers: six fields, seconds first (`0 */5 * * * *`), in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from croniter import croniter

from shared.errors import ConfigurationError

NCRONTAB_FIELDS = 6


class NcrontabSchedule:
    """A parsed six-field NCRONTAB expression."""

    def __init__(self, expression: str) -> None:
        fields = expression.split()
        if len(fields) != NCRONTAB_FIELDS:
            raise ConfigurationError(
                f"timer schedule {expression!r} has {len(fields)} fields; an NCRONTAB expression has 6: "
                "{second} {minute} {hour} {day} {month} {day-of-week}"
            )
        if not croniter.is_valid(expression, second_at_beginning=True):
            raise ConfigurationError(f"timer schedule {expression!r} is not a valid NCRONTAB expression")
        self.expression = expression

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after `moment` (a timezone-aware datetime), in UTC."""
        if moment.tzinfo is None:
            raise ValueError("moment must be timezone-aware")
        start = moment.astimezone(UTC)
        iterator = croniter(self.expression, start, second_at_beginning=True)
        following: datetime = iterator.get_next(datetime)
        return following.astimezone(UTC)
