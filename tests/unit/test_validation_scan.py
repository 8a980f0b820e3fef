"""What the secret and PII scanners flag, and what they leave alone."""

from __future__ import annotations

import pytest

from shared.validation.scan import find_pii, find_secrets, luhn_valid, scan_block


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (b"call me at +1 (425) 555-0100 ok", "phone"),
        (b"my number is +44 20 7946 0958", "phone"),
        (b"(425) 555-0100", "phone"),
        (b"555-123-4567", "phone"),
        (b"card 4111 1111 1111 1111 exp 12/29", "card"),
        (b"pay with 5500-0000-0000-0004", "card"),
        (b"write to jane.doe@example.co.uk", "email"),
    ],
)
def test_personal_data_is_found(text: bytes, kind: str) -> None:
    assert [hit.kind for hit in find_pii(text)] == [kind]


@pytest.mark.parametrize(
    "text",
    [
        b"2024-01-15 10:30",
        b"order 1234567890 shipped",
        b"card 4111 1111 1111 1112 fails the Luhn check",
        b"ticket #123456 and error 0x8007000e",
        b"version 1.2.3 build 4567",
        b"hold the button for 10 seconds, then 3 more",
    ],
)
def test_ordinary_numbers_are_not_personal_data(text: bytes) -> None:
    assert find_pii(text) == []


def test_plain_chat_text_has_no_secrets() -> None:
    text = b"Go to Settings > Account > Sign-in, security & passkey, then visit account.microsoft.com/services."
    assert find_secrets(text) == []


def test_block_scan_points_at_the_lines_that_hold_findings() -> None:
    lines = [b"nothing here", None, b"AKIAIOSFODNN7EXAMPLE", b"mail me: a.b@example.com", b"", b"+1 425 555 0100"]
    scanned = scan_block(lines)
    assert sorted(scanned.secrets) == [2]
    assert sorted(scanned.pii) == [3, 5]


def test_luhn() -> None:
    assert luhn_valid(b"79927398713")
    assert not luhn_valid(b"79927398710")
