"""Last line of defence: nothing the dashboard serves carries a key, connection string or SAS.

The service never puts secrets in its API answers, events or reports; this removes any that slipped
in anyway (a credential pasted into training data shows up in validation findings, for instance):
the devhost's own connection strings and their keys verbatim, and anything shaped like a credential.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import SecretStr

REDACTED = "[redacted]"
_SHAPED = re.compile(
    r"(?P<name>AccountKey|SharedAccessKey|SharedAccessSignature|api-key|x-functions-key|[?&](?:sig|code))"
    r"(?P<sep>\s*[=:]\s*)(?P<value>[^\s;&\"'<>,]+)",
    re.IGNORECASE,
)
_KEY_PART = re.compile(r"(?:AccountKey|SharedAccessKey)=([^;]+)", re.IGNORECASE)


class Redactor:
    """Replaces secrets in text and in JSON-like values."""

    def __init__(self, secrets: Iterable[SecretStr] = ()) -> None:
        known: set[str] = set()
        for secret in secrets:
            value = secret.get_secret_value()
            if value:
                known.add(value)
                known.update(match.group(1) for match in _KEY_PART.finditer(value))
        # Longest first, so a connection string goes whole before the key inside it is looked for.
        self._known = sorted((value for value in known if len(value) >= 8), key=len, reverse=True)

    def text(self, value: str) -> str:
        """`value` with known secrets and credential-shaped `name=value` pairs replaced."""
        for secret in self._known:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return _SHAPED.sub(lambda m: f"{m['name']}{m['sep']}{REDACTED}" if m["value"] != REDACTED else m[0], value)

    def json(self, value: Any) -> Any:
        """A copy of a JSON-like value with every string (keys too) passed through `text`."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(key)): self.json(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.json(item) for item in value]
        return value
