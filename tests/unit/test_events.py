"""The CloudEvents contract: builder, deterministic ids, structured-mode serialisation."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.events import (
    MAX_ID_LENGTH,
    EventType,
    InvalidEventError,
    build_event,
    event_id,
    parse_event,
    serialize_event,
)

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_build_event_fills_the_contract_fields() -> None:
    event = build_event(
        "ft-data-0123456789ab", EventType.TRAINING_SUBMITTED, 3, state="running", time=T0, data={"jobId": "job-1"}
    )

    body = orjson.loads(serialize_event(event))

    assert body == {
        "specversion": "1.0",
        "id": "ft-data-0123456789ab:finetune.training.submitted:0:3",
        "source": "/phi-finetune-orchestrator",
        "type": "finetune.training.submitted",
        "subject": "ft-data-0123456789ab",
        "time": "2026-11-26T12:00:00Z",
        "datacontenttype": "application/json",
        "data": {
            "runId": "ft-data-0123456789ab",
            "sequence": 3,
            "stage": "training",
            "state": "running",
            "jobId": "job-1",
        },
    }


def test_the_same_inputs_give_the_same_id_and_a_new_attempt_a_new_one() -> None:
    first = build_event("ft-a-1", EventType.RUN_ACCEPTED, 1, state="running", time=T0)
    again = build_event("ft-a-1", EventType.RUN_ACCEPTED, 1, state="running", time=T0)
    retried_run = build_event("ft-a-1", EventType.RUN_ACCEPTED, 1, state="running", time=T0, attempt=1)

    assert first.id == again.id
    assert retried_run.id != first.id


@given(run_id=st.text(min_size=1, max_size=300), sequence=st.integers(0, 10**9), attempt=st.integers(0, 1000))
def test_ids_never_exceed_the_service_bus_message_id_limit(run_id: str, sequence: int, attempt: int) -> None:
    assert 0 < len(event_id(run_id, EventType.TRAINING_STATUS_CHANGED, sequence, attempt)) <= MAX_ID_LENGTH


def test_serialisation_round_trips() -> None:
    event = build_event("ft-a-1", EventType.SMOKETEST_FAILED, 7, state="failed", time=T0, data={"passed": 1})

    parsed = parse_event(serialize_event(event))

    assert parsed == event
    assert parsed.data.facts == {"passed": 1}
    assert parsed.run_id == "ft-a-1"


def test_data_may_not_redefine_the_fixed_fields() -> None:
    with pytest.raises(ValueError, match="runId, sequence"):
        build_event("ft-a-1", EventType.RUN_ACCEPTED, 1, state="running", time=T0, data={"runId": "x", "sequence": 9})


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        build_event("ft-a-1", EventType.RUN_ACCEPTED, 1, state="running", time=datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b"{", "(body)"),
        (b'{"specversion": "1.0"}', "id"),
        (
            serialize_event(build_event("r", EventType.RUN_ACCEPTED, 1, state="s", time=T0)).replace(
                b"run.accepted", b"x.y"
            ),
            "type",
        ),
    ],
)
def test_parse_event_says_what_is_wrong(body: bytes, where: str) -> None:
    with pytest.raises(InvalidEventError, match="not a finetune CloudEvent") as raised:
        parse_event(body)
    assert where in str(raised.value)


def test_every_event_type_has_a_stage_and_an_outcome() -> None:
    for event_type in EventType:
        assert event_type.value == f"finetune.{event_type.stage}.{event_type.outcome}"
