"""The stable codes of validation findings: what tests, reports and users key on."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """A problem that makes a training file unusable; any one of them makes the report invalid."""

    EMPTY_FILE = "empty_file"
    FILE_TOO_LARGE = "file_too_large"
    COMPRESSED_FILE = "compressed_file"
    BINARY_DATA = "binary_data"
    NOT_UTF8 = "not_utf8"
    LINE_TOO_LONG = "line_too_long"
    INVALID_JSON = "invalid_json"
    NESTING_TOO_DEEP = "nesting_too_deep"
    NOT_AN_OBJECT = "not_an_object"
    MISSING_MESSAGES = "missing_messages"
    MESSAGES_NOT_A_LIST = "messages_not_a_list"
    EMPTY_MESSAGES = "empty_messages"
    MESSAGE_NOT_AN_OBJECT = "message_not_an_object"
    MISSING_ROLE = "missing_role"
    INVALID_ROLE = "invalid_role"
    MISSING_CONTENT = "missing_content"
    CONTENT_NOT_STRING = "content_not_string"
    EMPTY_CONTENT = "empty_content"
    UNKNOWN_MESSAGE_KEY = "unknown_message_key"
    INVALID_WEIGHT = "invalid_weight"
    WEIGHT_ON_NON_ASSISTANT = "weight_on_non_assistant"
    NO_ASSISTANT_MESSAGE = "no_assistant_message"
    TOO_MANY_TOKENS = "too_many_tokens"
    TOO_FEW_EXAMPLES = "too_few_examples"
    SECRET_DETECTED = "secret_detected"  # noqa: S105 - a finding code, not a password


class WarningCode(StrEnum):
    """Something a careful reviewer would point out; the file stays usable."""

    MISSING_SYSTEM_MESSAGE = "missing_system_message"
    DIFFERING_SYSTEM_MESSAGES = "differing_system_messages"
    DUPLICATE_EXAMPLE = "duplicate_example"
    NEAR_TOKEN_LIMIT = "near_token_limit"  # noqa: S105 - a finding code, not a password
    PII_EMAIL = "pii_email"
    PII_PHONE = "pii_phone"
    PII_CARD_NUMBER = "pii_card_number"
    SHORT_ASSISTANT_REPLY = "short_assistant_reply"
    LAST_MESSAGE_NOT_ASSISTANT = "last_message_not_assistant"
    SECRET_DETECTED = "secret_detected"  # noqa: S105 - a finding code, not a password
