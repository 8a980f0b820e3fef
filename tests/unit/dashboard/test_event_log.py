"""The dashboard's event log: each event once, in sequence order, bounded."""

from __future__ import annotations

from devhost.dashboard.events import EventLog
from shared.events import EventType
from tests.unit.dashboard.helpers import RUN_ID, event


def test_events_are_kept_once_in_sequence_order() -> None:
    log = EventLog()
    accepted, validated = event(EventType.RUN_ACCEPTED, 1), event(EventType.VALIDATION_SUCCEEDED, 2)
    assert log.add([validated, accepted]) == 2
    assert log.add([accepted]) == 0
    assert [e.id for e in log.for_run(RUN_ID)] == [accepted.id, validated.id]
    assert log.for_run("ft-other-0123456789ab") == []
    assert len(log) == 2


def test_past_its_size_the_runs_seen_longest_ago_are_dropped() -> None:
    log = EventLog(max_events=3)
    old, new = "ft-old-0123456789ab", "ft-new-0123456789ab"
    log.add([event(EventType.RUN_ACCEPTED, 1, old), event(EventType.VALIDATION_SUCCEEDED, 2, old)])
    log.add([event(EventType.RUN_ACCEPTED, 1, new), event(EventType.VALIDATION_SUCCEEDED, 2, new)])
    assert log.for_run(old) == []
    assert len(log.for_run(new)) == 2
    assert len(log) == 2
