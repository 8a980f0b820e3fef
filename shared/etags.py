"""ETags in one form: the quoted one that response headers carry (listings return them bare)."""

from __future__ import annotations


def quoted_etag(etag: str) -> str:
    """An ETag in the quoted form that response headers carry (listings return it bare)."""
    return etag if etag.startswith(('"', "W/")) else f'"{etag}"'
