from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from devhost.functions_host.ncrontab import NcrontabSchedule
from shared.errors import ConfigurationError


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("0 0 3 * * *", datetime(2026, 1, 1, 3, 0, tzinfo=UTC), datetime(2026, 1, 2, 3, 0, tzinfo=UTC)),
        ("0 0 3 * * *", datetime(2026, 1, 1, 2, 59, 59, tzinfo=UTC), datetime(2026, 1, 1, 3, 0, tzinfo=UTC)),
        (
            "*/10 * * * * *",
            datetime(2026, 1, 1, 0, 0, 0, 500000, tzinfo=UTC),
            datetime(2026, 1, 1, 0, 0, 10, tzinfo=UTC),
        ),
        ("0 */5 * * * *", datetime(2026, 1, 1, 0, 7, tzinfo=UTC), datetime(2026, 1, 1, 0, 10, tzinfo=UTC)),
        # 2026-01-03 is a Saturday: weekdays 1-5 (Monday-Friday) resume on Monday the 5th.
        ("0 30 9 * * 1-5", datetime(2026, 1, 3, tzinfo=UTC), datetime(2026, 1, 5, 9, 30, tzinfo=UTC)),
        ("0 0 0 1 * *", datetime(2026, 1, 15, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)),
    ],
)
def test_next_occurrence_follows_the_six_field_schedule(expression: str, after: datetime, expected: datetime) -> None:
    assert NcrontabSchedule(expression).next_after(after) == expected


def test_other_time_zones_are_read_as_the_same_instant_and_answered_in_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    following = NcrontabSchedule("0 0 3 * * *").next_after(datetime(2026, 1, 1, 4, 0, tzinfo=plus_two))
    assert following == datetime(2026, 1, 1, 3, 0, tzinfo=UTC)  # 04:00+02:00 is 02:00 UTC
    assert following.tzinfo == UTC


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("0 0 3 * *", "has 5 fields"),
        ("61 0 3 * * *", "not a valid"),
        ("a b c d e f", "not a valid"),
        ("", "has 0 fields"),
    ],
)
def test_bad_schedule_is_refused_with_a_clear_message(expression: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        NcrontabSchedule(expression)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        NcrontabSchedule("0 0 3 * * *").next_after(datetime(2026, 1, 1))
