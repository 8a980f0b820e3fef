"""Pure parts of the devhost broker: SAS tokens, correlation filters, the message codec."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from azure.servicebus._pyamqp.utils import generate_sas_token
from proton import Data, Message, symbol

from devhost.servicebus_broker.amqp_values import AmqpDecodeError, decode
from devhost.servicebus_broker.codec import (
    MalformedMessageError,
    Stamp,
    read_facts,
    split_sections,
    stamp,
    with_application_properties,
)
from devhost.servicebus_broker.entities import CorrelationFilter
from devhost.servicebus_broker.filters import matches
from devhost.servicebus_broker.sas import TokenRejectedError, check_token

AUDIENCE = "sb://127.0.0.1:5672/finetune-events"


def test_a_token_signed_with_the_key_is_accepted() -> None:
    token = generate_sas_token(AUDIENCE, "Root", "the-key", int(time.time()) + 60)

    assert check_token(token, key_name="Root", key="the-key") == AUDIENCE


def _signed(key_name: str, key: str, expires_in_s: int) -> str:
    # Signed when the test runs, not when it is collected: a long suite must not outlive the expiry.
    return str(generate_sas_token(AUDIENCE, key_name, key, int(time.time()) + expires_in_s))


@pytest.mark.parametrize(
    ("make_token", "reason"),
    [
        (lambda: _signed("Root", "other-key", 600), "signature does not match"),
        (lambda: _signed("Other", "the-key", 600), "unknown shared access key name"),
        (lambda: _signed("Root", "the-key", -60), "expired"),
        (lambda: "Bearer abc", "not a shared access signature"),
        (lambda: "SharedAccessSignature sr=x&se=1", "no 'sig' field"),
    ],
)
def test_bad_tokens_are_rejected_with_a_reason(make_token: Callable[[], str], reason: str) -> None:
    with pytest.raises(TokenRejectedError, match=reason):
        check_token(make_token(), key_name="Root", key="the-key")


def _message(**kwargs: object) -> bytes:
    return bytes(Message(body=b"payload", **kwargs).encode())


def test_facts_are_read_from_properties_and_application_properties() -> None:
    raw = _message(id="m-1", subject="s", correlation_id="c", group_id="g", properties={"outcome": "failed", "n": 3})

    facts = read_facts(split_sections(raw))

    assert (facts.message_id, facts.subject, facts.correlation_id, facts.session_id) == ("m-1", "s", "c", "g")
    assert facts.application_properties == {"outcome": "failed", "n": 3}


def test_stamping_keeps_the_body_and_adds_broker_annotations() -> None:
    raw = _message(id="m-1", properties={"k": "v"})

    delivered = Message()
    delivered.decode(stamp(split_sections(raw), Stamp(sequence_number=7, enqueued_ms=1000, delivery_count=2)))

    assert bytes(delivered.body) == b"payload"
    assert delivered.id == "m-1"
    assert delivered.delivery_count == 2
    assert delivered.annotations["x-opt-sequence-number"] == 7
    assert delivered.properties == {"k": "v"}


def test_dead_letter_details_are_merged_into_application_properties() -> None:
    merged = Message()
    merged.decode(with_application_properties(split_sections(_message(properties={"k": "v"})), {"Reason": "x"}))

    assert merged.properties == {"k": "v", "Reason": "x"}
    assert bytes(merged.body) == b"payload"


def test_truncated_messages_are_malformed() -> None:
    with pytest.raises(MalformedMessageError):
        split_sections(_message(id="m-1")[:-3])


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (None, True),
        (CorrelationFilter(application_properties={"outcome": "failed"}), True),
        (CorrelationFilter(application_properties={"outcome": "succeeded"}), False),
        (CorrelationFilter(application_properties={"missing": "x"}), False),
        (CorrelationFilter(subject="finetune.run.failed", application_properties={"outcome": "failed"}), True),
        (CorrelationFilter(subject="other"), False),
        (CorrelationFilter(application_properties={"n": 3}), True),
    ],
)
def test_correlation_filters_and_their_fields(rule: CorrelationFilter | None, expected: bool) -> None:
    facts = read_facts(
        split_sections(_message(subject="finetune.run.failed", properties={"outcome": "failed", "n": 3}))
    )

    assert matches(rule, facts) is expected


def test_broker_annotations_decode_as_the_sdk_expects() -> None:
    mark = Stamp(
        sequence_number=9,
        enqueued_ms=1_700_000_000_000,
        delivery_count=300,
        locked_until_ms=1_700_000_060_000,
        dead_letter_source="q",
    )
    delivered = Message()
    delivered.decode(stamp(split_sections(_message(id="m")), mark))

    assert delivered.delivery_count == 300
    assert delivered.durable is True
    assert delivered.annotations == {
        "x-opt-sequence-number": 9,
        "x-opt-enqueued-time": 1_700_000_000_000,
        "x-opt-message-state": 0,
        "x-opt-locked-until": 1_700_000_060_000,
        "x-opt-deadletter-source": "q",
    }


def test_a_senders_own_annotations_are_kept() -> None:
    raw = _message(id="m", annotations={"x-opt-partition-key": "p"})

    delivered = Message()
    delivered.decode(stamp(split_sections(raw), Stamp(sequence_number=1, enqueued_ms=5, delivery_count=0)))

    assert delivered.annotations["x-opt-partition-key"] == "p"
    assert delivered.annotations["x-opt-sequence-number"] == 1


def test_lists_and_maps_of_nulls_strings_and_other_values_decode_like_proton() -> None:
    data = Data()
    data.put_object([None, "short", symbol("sym"), "x" * 300, 7, True, {"k": "v", "n": None}])
    encoded = bytes(data.encode())

    value, end = decode(encoded)

    assert value == [None, "short", "sym", "x" * 300, 7, True, {"k": "v", "n": None}]
    assert end == len(encoded)


def test_a_string_cut_short_inside_a_list_is_a_decode_error() -> None:
    data = Data()
    data.put_object(["a complete string", "another one"])
    encoded = bytes(data.encode())

    with pytest.raises(AmqpDecodeError, match="truncated"):
        decode(encoded[:-4])
