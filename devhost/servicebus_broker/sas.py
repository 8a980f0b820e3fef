"""Shared access signature tokens, as the SDK builds them from a connection string, checked by `$cbs`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import parse_qs, quote_plus, unquote_plus

PREFIX = "SharedAccessSignature "


class TokenRejectedError(ValueError):
    """A put-token request carries a token that does not grant access."""


def check_token(token: str, *, key_name: str, key: str, now: float | None = None) -> str:
    """Validate a SAS token signed with `key`; returns its audience (`sr`) or raises `TokenRejectedError`."""
    if not token.startswith(PREFIX):
        raise TokenRejectedError("not a shared access signature")
    fields = {name: values[0] for name, values in parse_qs(token[len(PREFIX) :], keep_blank_values=True).items()}
    try:
        audience, signature, expiry = fields["sr"], fields["sig"], fields["se"]
    except KeyError as missing:
        raise TokenRejectedError(f"the token has no {missing.args[0]!r} field") from None
    if unquote_plus(fields.get("skn", "")) != key_name:
        raise TokenRejectedError("unknown shared access key name")
    if not expiry.isdigit() or int(expiry) < (time.time() if now is None else now):
        raise TokenRejectedError("the token has expired")
    expected = base64.b64encode(
        hmac.new(key.encode(), f"{quote_plus(audience)}\n{expiry}".encode(), hashlib.sha256).digest()
    ).decode()
    if not hmac.compare_digest(expected, signature):
        raise TokenRejectedError("the signature does not match the shared access key")
    return audience
