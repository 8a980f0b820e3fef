"""Fault-injection hooks for the reliability suite, off unless their settings say otherwise."""

from __future__ import annotations

import logging
import time

from shared.settings import Settings

log = logging.getLogger(__name__)


def pause_after_activity(name: str, settings: Settings) -> None:
    """Wait `FAULT_PAUSE_AFTER_ACTIVITIES[name]` seconds: the work is done, its result not yet recorded.

    A process killed in that window must not do the work twice when it comes back (activities are idempotent).
    """
    seconds = settings.fault_pause_after_activities.get(name, 0.0)
    if seconds > 0:
        log.info("activity %s done; pausing %.1f s before its result is recorded (fault injection)", name, seconds)
        time.sleep(seconds)
