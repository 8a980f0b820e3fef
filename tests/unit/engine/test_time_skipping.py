"""The virtual clock lands exactly on each timer's due time, however long or short the sleeps."""

from __future__ import annotations

from itertools import accumulate

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devhost.engine import Engine, VirtualClock
from tests.fixtures.engine_app import app

SECONDS_IN_90_DAYS = 90 * 24 * 3600


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=1, max_value=SECONDS_IN_90_DAYS), min_size=1, max_size=6))
def test_each_durable_timer_fires_exactly_at_its_due_time(sleeps: list[int]) -> None:
    engine = Engine(app, clock=VirtualClock(), activity_workers=1)
    try:
        started = engine.clock.now()
        status = engine.run_until_complete(engine.start_new("sleeper", input=sleeps))
        assert status.output == [float(total) for total in accumulate(sleeps)]
        assert (engine.clock.now() - started).total_seconds() == sum(sleeps)
    finally:
        engine.stop()
