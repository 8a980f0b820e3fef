"""The dashboard's last line of defence against serving a secret."""

from __future__ import annotations

from pydantic import SecretStr

from devhost.dashboard.redact import REDACTED, Redactor

CONNECTION = "Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=root;SharedAccessKey=a2V5LWZvci10ZXN0cw==;"


def test_known_secrets_and_the_keys_inside_them_are_replaced() -> None:
    redactor = Redactor([SecretStr(CONNECTION)])
    assert redactor.text(f"could not connect: {CONNECTION}") == f"could not connect: {REDACTED}"
    assert redactor.text("key a2V5LWZvci10ZXN0cw== leaked") == f"key {REDACTED} leaked"


def test_credential_shaped_values_are_replaced_without_knowing_them() -> None:
    redactor = Redactor()
    assert redactor.text("AccountKey=abc/def+==;AccountName=x") == f"AccountKey={REDACTED};AccountName=x"
    assert redactor.text("https://h/c/b?sv=2024&sig=abc%2Fdef&se=1") == f"https://h/c/b?sv=2024&sig={REDACTED}&se=1"
    assert redactor.text("api-key: sk-123456") == f"api-key: {REDACTED}"
    assert redactor.text("https://app/api/runs?code=fnkey123") == f"https://app/api/runs?code={REDACTED}"


def test_ordinary_text_is_left_alone() -> None:
    redactor = Redactor([SecretStr(CONNECTION)])
    text = "My console shows error code 1004: restart it. signature of the model: phi-3"
    assert redactor.text(text) == text


def test_json_values_are_redacted_everywhere() -> None:
    redactor = Redactor([SecretStr(CONNECTION)])
    value = {"a": [CONNECTION, 1, None, {"b": "ok"}], CONNECTION: True}
    assert redactor.json(value) == {"a": [REDACTED, 1, None, {"b": "ok"}], REDACTED: True}
