"""The engine's pure parts: the determinism comparison, instance id rules, clocks, store leases."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import azure.durable_functions as df
import pytest

from devhost.engine import EngineError, InvalidInstanceIdError, RealClock, VirtualClock
from devhost.engine.actions import ActionSignature, find_divergence
from devhost.engine.discovery import discover
from devhost.engine.engine import validate_instance_id
from devhost.engine.store import NewActivity, NewMessage, Store

ACTIVITY, TIMER, EVENT = 0, 5, 6


def test_identical_or_extended_actions_are_deterministic() -> None:
    recorded = [ActionSignature(ACTIVITY, "a"), ActionSignature(TIMER, None)]
    assert find_divergence(recorded, recorded) is None
    assert find_divergence(recorded, [*recorded, ActionSignature(EVENT, "go")]) is None


def test_a_changed_name_or_type_names_the_position_and_both_actions() -> None:
    recorded = [ActionSignature(ACTIVITY, "a"), ActionSignature(ACTIVITY, "b")]
    assert find_divergence(recorded, [ActionSignature(ACTIVITY, "a"), ActionSignature(TIMER, None)]) == (
        "non-deterministic orchestrator: at action position 1 the history recorded CALL_ACTIVITY 'b' "
        "but the code now yields CREATE_TIMER"
    )


def test_a_vanished_action_is_a_divergence() -> None:
    message = find_divergence([ActionSignature(EVENT, "go")], [])
    assert message is not None
    assert "position 0" in message
    assert "WAIT_FOR_EXTERNAL_EVENT 'go'" in message


@pytest.mark.parametrize("bad", ["", "a/b", "a\\b", "a?b", "a#b", "a\nb", "x" * 257])
def test_instance_ids_the_host_refuses_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInstanceIdError):
        validate_instance_id(bad)


def test_instance_ids_with_dashes_colons_and_dots_are_fine() -> None:
    assert validate_instance_id("ft-data.v2:0001") == "ft-data.v2:0001"


def test_virtual_clock_only_moves_forward_and_needs_an_aware_start() -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    clock = VirtualClock(start)
    clock.advance_to(start + timedelta(hours=48))
    clock.advance_to(start)
    assert clock.now() == start + timedelta(hours=48)
    with pytest.raises(ValueError, match="timezone-aware"):
        VirtualClock(datetime(2030, 1, 1))
    with pytest.raises(TypeError, match="cannot be advanced"):
        RealClock().advance_to(start)


def test_an_expired_lease_lets_another_claim_take_the_activity_and_the_late_finish_is_ignored() -> None:
    store = Store(None)
    with store.transaction() as db:
        store.add_activities(db, [NewActivity("i", "e", 0, "work", None)])
    now = time.time()
    (first,) = store.claim_activities("owner", now, lease_seconds=10, limit=4)
    assert store.claim_activities("owner", now + 5, lease_seconds=10, limit=4) == []
    (second,) = store.claim_activities("owner", now + 11, lease_seconds=10, limit=4)
    assert second.attempts == 2
    done = NewMessage("i", "event", {"EventType": 5})
    assert store.finish_activity(first, done) is False
    assert store.finish_activity(second, done) is True
    assert store.activity_count() == 0
    store.close()


def test_renewed_leases_are_not_claimed_again() -> None:
    store = Store(None)
    with store.transaction() as db:
        store.add_activities(db, [NewActivity("i", "e", 0, "work", None)])
    now = time.time()
    (item,) = store.claim_activities("owner", now, lease_seconds=10, limit=1)
    store.renew_leases([item], now + 100)
    assert store.claim_activities("owner", now + 50, lease_seconds=10, limit=1) == []
    store.close()


def test_a_store_path_that_is_a_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="cannot open the engine store"):
        Store(tmp_path)


def test_an_app_the_host_could_not_index_is_a_clear_error() -> None:
    broken = df.DFApp()

    @broken.function_name("same")
    @broken.activity_trigger(input_name="value")
    def first(value: int) -> int:
        return value

    @broken.function_name("same")
    @broken.activity_trigger(input_name="value")
    def second(value: int) -> int:
        return value

    with pytest.raises(EngineError, match="cannot be indexed"):
        discover(broken)
